# Compiles every public header under include/executor/sync/ on its own, once with the host
# compiler and once (when arm-none-eabi-g++ is installed) freestanding for Cortex-M4 with the
# flags of the heapless port. Run by ctest as sync.headers (see extra.cmake).
#   cmake -DHOST_CXX=... -DARM_CXX=... -DINCLUDE_DIR=... -DOUT_DIR=... -P header_check.cmake
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/executor/sync/*.hpp)
list(SORT headers)
if(NOT headers)
  message(FATAL_ERROR "no sync headers found under ${INCLUDE_DIR}")
endif()
file(MAKE_DIRECTORY ${OUT_DIR})
set(failed "")
foreach(h ${headers})
  string(MAKE_C_IDENTIFIER ${h} id)
  set(src ${OUT_DIR}/${id}.cpp)
  file(WRITE ${src} "#include <${h}>\n#include <${h}>\n")
  execute_process(
    COMMAND ${HOST_CXX} -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I${INCLUDE_DIR} ${src}
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(APPEND failed "host: ${h}\n${err}")
  endif()
  if(ARM_CXX)
    execute_process(
      COMMAND ${ARM_CXX} -std=c++20 -mcpu=cortex-m4 -mthumb -ffreestanding -fno-exceptions
              -fno-rtti -fno-threadsafe-statics -DEXECUTOR_SINGLE_THREADED -Wall -Wextra -Werror
              -fsyntax-only -I${INCLUDE_DIR} ${src}
      RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      list(APPEND failed "cortex-m freestanding: ${h}\n${err}")
    endif()
  endif()
endforeach()
list(LENGTH headers n)
if(failed)
  string(JOIN "\n" msg ${failed})
  message(FATAL_ERROR "sync header check failed:\n${msg}")
endif()
if(ARM_CXX)
  message(STATUS "${n} sync headers compile standalone (host and freestanding Cortex-M4)")
else()
  message(STATUS "${n} sync headers compile standalone (host; arm-none-eabi-g++ not found)")
endif()
