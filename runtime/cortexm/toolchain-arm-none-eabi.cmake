# CMake toolchain file for the Cortex-M firmware (Debian's gcc-arm-none-eabi).
#   cmake -S runtime/cortexm/firmware -B build/cortexm \
#         -DCMAKE_TOOLCHAIN_FILE=runtime/cortexm/toolchain-arm-none-eabi.cmake
# EXECUTOR_CORTEXM_CPU selects the core (cortex-m3, the default, or cortex-m4 for mps2-an386).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_NM arm-none-eabi-nm CACHE FILEPATH "")
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")

if(NOT EXECUTOR_CORTEXM_CPU)
  set(EXECUTOR_CORTEXM_CPU cortex-m3)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EXECUTOR_CORTEXM_CPU)
# -mfloat-abi=soft: the M4 images do not use the FPU (no lazy-stacking setup in startup.cpp).
set(_executor_cpu_flags "-mcpu=${EXECUTOR_CORTEXM_CPU} -mthumb -mfloat-abi=soft")
set(CMAKE_C_FLAGS_INIT "${_executor_cpu_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_executor_cpu_flags}")
set(CMAKE_ASM_FLAGS_INIT "${_executor_cpu_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_executor_cpu_flags}")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
