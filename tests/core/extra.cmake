# Child-process programs for tests/core/main_test.cpp, and the public-header self-containment check.
foreach(prog main_exit_code main_grace main_void)
  add_executable(core_${prog} ${CMAKE_CURRENT_LIST_DIR}/programs/${prog}.cpp)
  target_link_libraries(core_${prog} PRIVATE executor_static executor_warnings)
  add_dependencies(core_main_test core_${prog})
endforeach()
target_compile_definitions(core_main_test PRIVATE
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
