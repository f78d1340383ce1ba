# The server-like child program that tests/cancel/signals_test.cpp sends SIGTERM/SIGINT to.
add_executable(cancel_shutdown_server ${CMAKE_CURRENT_LIST_DIR}/programs/shutdown_server.cpp
                                      ${CMAKE_CURRENT_LIST_DIR}/programs/block_signals_env.cpp)
target_link_libraries(cancel_shutdown_server PRIVATE executor_static executor_warnings)
add_dependencies(cancel_signals_test cancel_shutdown_server)
target_compile_definitions(cancel_signals_test PRIVATE
  EXECUTOR_SHUTDOWN_SERVER="$<TARGET_FILE:cancel_shutdown_server>")

# The worked example of docs/cancellation.md, run by tests/cancel/bundle_server_test.cpp.
add_executable(cancel_bundle_server ${CMAKE_CURRENT_LIST_DIR}/programs/bundle_server.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/programs/block_signals_env.cpp)
target_link_libraries(cancel_bundle_server PRIVATE executor_static executor_warnings)
add_dependencies(cancel_bundle_server_test cancel_bundle_server)
target_compile_definitions(cancel_bundle_server_test PRIVATE
  EXECUTOR_BUNDLE_SERVER="$<TARGET_FILE:cancel_bundle_server>")
