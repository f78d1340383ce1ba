# The server-like child program that tests/cancel/signals_test.cpp sends SIGTERM/SIGINT to.
add_executable(cancel_shutdown_server ${CMAKE_CURRENT_LIST_DIR}/programs/shutdown_server.cpp)
target_link_libraries(cancel_shutdown_server PRIVATE executor_static executor_warnings)
add_dependencies(cancel_signals_test cancel_shutdown_server)
target_compile_definitions(cancel_signals_test PRIVATE
  EXECUTOR_SHUTDOWN_SERVER="$<TARGET_FILE:cancel_shutdown_server>")
