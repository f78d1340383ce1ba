# Child-process programs for tests/core/main_test.cpp, and the public-header self-containment check.
foreach(prog main_exit_code main_grace main_void print_workers static_exit abandon_rounds)
  add_executable(core_${prog} ${CMAKE_CURRENT_LIST_DIR}/programs/${prog}.cpp)
  target_link_libraries(core_${prog} PRIVATE executor_static executor_warnings)
  add_dependencies(core_main_test core_${prog})
endforeach()
target_compile_definitions(core_main_test PRIVATE
  EXECUTOR_TEST_PROGRAMS="$<TARGET_FILE_DIR:core_main_exit_code>")
add_dependencies(core_available_cpus_test core_print_workers)
target_compile_definitions(core_available_cpus_test PRIVATE
  EXECUTOR_TEST_PROGRAMS="$<TARGET_FILE_DIR:core_main_exit_code>")

# Every public C++ header must compile on its own (built as part of `all`, so a header that
# does not breaks the build and therefore the suite).
file(GLOB_RECURSE EXECUTOR_PUBLIC_HEADERS CONFIGURE_DEPENDS
  RELATIVE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/include/executor/*.hpp)
set(EXECUTOR_HEADER_CHECK_SOURCES)
foreach(header ${EXECUTOR_PUBLIC_HEADERS})
  string(MAKE_C_IDENTIFIER ${header} id)
  set(src ${CMAKE_CURRENT_BINARY_DIR}/header_check/${id}.cpp)
  file(CONFIGURE OUTPUT ${src} CONTENT "#include <${header}>\n#include <${header}>  // guarded\n")
  list(APPEND EXECUTOR_HEADER_CHECK_SOURCES ${src})
endforeach()
add_library(core_header_check OBJECT ${EXECUTOR_HEADER_CHECK_SOURCES})
target_include_directories(core_header_check PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(core_header_check PRIVATE executor_warnings absl::status absl::statusor)

# The README's example program: extracted at configure time, built, and run (exit code 0), so
# the README cannot drift from the API.
file(READ ${PROJECT_SOURCE_DIR}/README.md EXECUTOR_README)
string(REGEX MATCH "```cpp\n([^`]*)```" EXECUTOR_README_EXAMPLE "${EXECUTOR_README}")
if(NOT CMAKE_MATCH_1)
  message(FATAL_ERROR "README.md has no ```cpp example block")
endif()
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp CONTENT "${CMAKE_MATCH_1}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
add_executable(core_readme_example ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp)
target_link_libraries(core_readme_example PRIVATE executor_static executor_warnings)
add_test(NAME core.readme_example COMMAND core_readme_example)
set_tests_properties(core.readme_example PROPERTIES TIMEOUT 60 LABELS core)

# Adaptive spreading's packed mode (as if other processes held the other CPUs: work stays on
# the awake worker, a second one hands its work over and parks, the completion thread rescues
# work stuck behind a blocked worker) under the scheduler-, sync- and I/O-heavy suites: these
# registrations run them again with EXECUTOR_SPREAD=packed (ctest names <test>.packed).
foreach(t core.spawn core.runtime core.sleep core.lifo_slot core.task sync.mutex sync.multishot
          sync.notify sync.mpsc sync.semaphore sync.handoff sync.wait_map io.tcp io.runtime
          io.worker_ring)
  string(REPLACE "." "_" target ${t})
  if(TARGET ${target}_test)
    add_test(NAME ${t}.packed COMMAND ${target}_test)
    set_tests_properties(${t}.packed PROPERTIES ENVIRONMENT "EXECUTOR_SPREAD=packed"
      TIMEOUT ${EXECUTOR_TEST_TIMEOUT})
  endif()
endforeach()

# Every public out-of-line function is exported from libexecutor.so (tests/core/exports.cmake).
add_test(NAME core.exports
         COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DSTATIC=$<TARGET_FILE:executor_static>
                 -DSHARED=$<TARGET_FILE:executor> -P ${CMAKE_CURRENT_LIST_DIR}/exports.cmake)
set_tests_properties(core.exports PROPERTIES TIMEOUT 60 LABELS core)
