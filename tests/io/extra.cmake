# The whole I/O suite runs against both backends and both io_uring designs: each
# tests/io/*_test.cpp executable is registered again with EXECUTOR_BACKEND=epoll (ctest names
# io.<component>.epoll) and with EXECUTOR_WORKER_RINGS=0 (io.<component>.completion_thread: no
# worker rings, every operation through the completion thread's ring); the default
# registration forces io_uring so that a silent fallback cannot pass for it.
file(GLOB EXECUTOR_IO_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/io/*_test.cpp)
foreach(source ${EXECUTOR_IO_TESTS})
  get_filename_component(component ${source} NAME_WE)
  string(REGEX REPLACE "_test$" "" component ${component})
  if(component STREQUAL "fallback")
    continue()  # chooses its backends itself, in child processes
  endif()
  set_tests_properties(io.${component} PROPERTIES ENVIRONMENT "EXECUTOR_BACKEND=io_uring")
  add_test(NAME io.${component}.epoll COMMAND io_${component}_test)
  set_tests_properties(io.${component}.epoll PROPERTIES
    ENVIRONMENT "EXECUTOR_BACKEND=epoll" TIMEOUT ${EXECUTOR_TEST_TIMEOUT} LABELS io)
  # io_uring with every operation going through the completion thread's ring (no worker rings).
  add_test(NAME io.${component}.completion_thread COMMAND io_${component}_test)
  set_tests_properties(io.${component}.completion_thread PROPERTIES
    ENVIRONMENT "EXECUTOR_BACKEND=io_uring;EXECUTOR_WORKER_RINGS=0"
    TIMEOUT ${EXECUTOR_TEST_TIMEOUT} LABELS io)
endforeach()

# The examples are run as programs by io_examples_test.
target_compile_definitions(io_examples_test PRIVATE
  EXECUTOR_ECHO_SERVER="$<TARGET_FILE:echo_server>" EXECUTOR_FILE_COPY="$<TARGET_FILE:file_copy>")
add_dependencies(io_examples_test echo_server file_copy)
