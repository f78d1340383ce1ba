# Standalone benchmark programs and the baselines (included by bench/CMakeLists.txt).
#
#   timers_executor        the `timers` workload (wall time, peak RSS, mean overshoot)
#   echo_server_executor   executor's tcp_echo server (2 workers, one task per connection)
#   loadgen                the tcp_echo load generator (used against every echo server)
#   connect_storm          an accept burst against an echo server (one connection after another)
#   idle_connections       the idle_connections client (server RSS per idle connection)
#   cpu_hog                the busy neighbour of the driver's `hog` condition (one per CPU)
#   baseline_uring_bench   raw single-thread liburing: io_nop, file_read
#   baseline_uring_echo_server  raw single-thread liburing tcp_echo server
#   baseline_asio_bench    Boost.Asio (io_uring backend, C++20 coroutines, 2 threads):
#                          spawn_join, spawn_join_batched, yield, ping_pong, mutex
#   baseline_asio_timers   Boost.Asio: timers
#   baseline_asio_echo_server   Boost.Asio: tcp_echo server
#
# Boost is a bench-only dependency: the library never links it, and without Boost (Debian's
# libboost1.81-dev, installed by `./tools/dev bench`) the Asio targets are skipped. Sanitizer
# builds skip them too (they are only ever run from the release build; this keeps CI fast).

function(executor_add_bench_program name)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE executor_warnings)
endfunction()

executor_add_bench_program(timers_executor ${CMAKE_CURRENT_SOURCE_DIR}/programs/timers_executor.cpp)
target_link_libraries(timers_executor PRIVATE executor_internal)

executor_add_bench_program(baseline_uring_bench
  ${CMAKE_CURRENT_SOURCE_DIR}/baselines/uring_workloads.cpp)
target_include_directories(baseline_uring_bench PRIVATE ${EXECUTOR_URING_INCLUDE_DIR})
target_link_libraries(baseline_uring_bench PRIVATE benchmark::benchmark ${EXECUTOR_URING_LIBRARY})

if(EXECUTOR_SANITIZE STREQUAL "")
  find_package(Boost 1.81 CONFIG QUIET)
endif()
if(Boost_FOUND)
  add_library(executor_bench_asio INTERFACE)  # bench only: never linked by the library
  target_compile_definitions(executor_bench_asio INTERFACE BOOST_ASIO_HAS_IO_URING=1
                                                           BOOST_ASIO_DISABLE_EPOLL=1)
  target_include_directories(executor_bench_asio INTERFACE ${EXECUTOR_URING_INCLUDE_DIR})
  target_link_libraries(executor_bench_asio INTERFACE Boost::headers Threads::Threads
                                                      ${EXECUTOR_URING_LIBRARY})

  executor_add_bench_program(baseline_asio_bench
    ${CMAKE_CURRENT_SOURCE_DIR}/baselines/asio_workloads.cpp)
  target_link_libraries(baseline_asio_bench PRIVATE executor_bench_asio benchmark::benchmark)

  executor_add_bench_program(baseline_asio_timers
    ${CMAKE_CURRENT_SOURCE_DIR}/baselines/asio_timers.cpp)
  target_link_libraries(baseline_asio_timers PRIVATE executor_bench_asio)

  executor_add_bench_program(baseline_asio_echo_server
    ${CMAKE_CURRENT_SOURCE_DIR}/baselines/asio_echo_server.cpp)
  target_link_libraries(baseline_asio_echo_server PRIVATE executor_bench_asio absl::flags
                                                          absl::flags_parse)
else()
  if(EXECUTOR_SANITIZE STREQUAL "")
    message(STATUS "Boost 1.81 not found: the Boost.Asio baselines are not built "
                   "(install libboost1.81-dev)")
  endif()
endif()

# --- tcp_echo: the load generator, executor's server and the raw liburing server -------------------------
executor_add_bench_program(loadgen ${CMAKE_CURRENT_SOURCE_DIR}/loadgen/loadgen.cpp)
target_link_libraries(loadgen PRIVATE absl::flags absl::flags_parse absl::flags_usage)

# An accept burst against any of the echo servers (multishot vs single-shot accept).
executor_add_bench_program(connect_storm ${CMAKE_CURRENT_SOURCE_DIR}/loadgen/connect_storm.cpp)
target_link_libraries(connect_storm PRIVATE absl::flags absl::flags_parse)

# idle_connections: 10,000 connections kept open against an echo server, its RSS read from /proc.
executor_add_bench_program(idle_connections ${CMAKE_CURRENT_SOURCE_DIR}/loadgen/idle_connections.cpp)
target_link_libraries(idle_connections PRIVATE absl::flags absl::flags_parse)

# The `hog` condition's spinner (bench/programs/cpu_hog.cpp): no library, no dependencies.
executor_add_bench_program(cpu_hog ${CMAKE_CURRENT_SOURCE_DIR}/programs/cpu_hog.cpp)

executor_add_bench_program(baseline_uring_echo_server
  ${CMAKE_CURRENT_SOURCE_DIR}/baselines/uring_echo_server.cpp)
target_include_directories(baseline_uring_echo_server PRIVATE ${EXECUTOR_URING_INCLUDE_DIR})
target_link_libraries(baseline_uring_echo_server PRIVATE absl::flags absl::flags_parse
                                                         ${EXECUTOR_URING_LIBRARY})

executor_add_bench_program(echo_server_executor
  ${CMAKE_CURRENT_SOURCE_DIR}/programs/echo_server_executor.cpp)
target_link_libraries(echo_server_executor PRIVATE executor_internal absl::flags
                                                   absl::flags_parse)
