# sync.headers: every public sync header compiles on its own, on the host and freestanding for
# the Cortex-M port (-ffreestanding -fno-exceptions -fno-rtti -DEXECUTOR_SINGLE_THREADED).
find_program(EXECUTOR_ARM_CXX arm-none-eabi-g++)
add_test(NAME sync.headers
         COMMAND ${CMAKE_COMMAND} -DHOST_CXX=${CMAKE_CXX_COMPILER}
                 -DARM_CXX=${EXECUTOR_ARM_CXX} -DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
                 -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/sync_header_check
                 -P ${CMAKE_CURRENT_LIST_DIR}/header_check.cmake)
set_tests_properties(sync.headers PROPERTIES TIMEOUT 300 LABELS sync)
