# FFI tests beyond the gtest executable (tests/ffi/ffi_test.cpp):
#  - ffi_shim: a shared library of C++ tasks exported with EXECUTOR_EXPORT_TASK, built with hidden
#    visibility (so finding its symbols proves the macro exports them) against libexecutor.so;
#  - ffi.c_program: a C11 program (compiled as C) driving the shim; runs under ASan in the asan
#    preset like everything else;
#  - ffi.python_ctypes: Python's ctypes loading the shim and driving the same sequence;
#  - ffi.header_c / ffi.header_cxx: ffi.h compiles as strict C11 and as C++.
add_library(ffi_shim SHARED ${CMAKE_CURRENT_LIST_DIR}/shim/ffi_shim.cpp)
set_target_properties(ffi_shim PROPERTIES CXX_VISIBILITY_PRESET hidden
                                          VISIBILITY_INLINES_HIDDEN ON)
target_link_libraries(ffi_shim PRIVATE executor executor_warnings)

add_executable(ffi_c_program ${CMAKE_CURRENT_LIST_DIR}/c/ffi_c_test.c)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/c/ffi_c_test.c PROPERTIES LANGUAGE C)
set_target_properties(ffi_c_program PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON
                                               C_EXTENSIONS OFF)
target_include_directories(ffi_c_program PRIVATE ${PROJECT_SOURCE_DIR}/include
                                                 ${CMAKE_CURRENT_LIST_DIR}/shim)
target_compile_options(ffi_c_program PRIVATE -pedantic)
target_link_libraries(ffi_c_program PRIVATE ffi_shim executor executor_warnings Threads::Threads)
add_test(NAME ffi.c_program COMMAND ffi_c_program)
set_tests_properties(ffi.c_program PROPERTIES TIMEOUT 120 LABELS ffi)

# Python is not instrumented: under ASan the sanitizer runtime must be preloaded (and leak
# checking of the interpreter itself disabled); under TSan the test does not run (an
# uninstrumented interpreter cannot host an instrumented library reliably).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND NOT EXECUTOR_SANITIZE STREQUAL "thread")
  add_test(NAME ffi.python_ctypes
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/python/test_ffi.py
                   $<TARGET_FILE:ffi_shim>)
  set_tests_properties(ffi.python_ctypes PROPERTIES TIMEOUT 120 LABELS ffi)
  if(EXECUTOR_SANITIZE STREQUAL "address")
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so
                    OUTPUT_VARIABLE EXECUTOR_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so
                    OUTPUT_VARIABLE EXECUTOR_LIBSTDCXX OUTPUT_STRIP_TRAILING_WHITESPACE)
    set_tests_properties(ffi.python_ctypes PROPERTIES ENVIRONMENT
      "LD_PRELOAD=${EXECUTOR_LIBASAN} ${EXECUTOR_LIBSTDCXX};ASAN_OPTIONS=detect_leaks=0:abort_on_error=1")
  endif()
endif()

foreach(lang c cxx)
  if(lang STREQUAL "c")
    set(compiler ${CMAKE_C_COMPILER})
    set(flags -std=c11 -x c)
  else()
    set(compiler ${CMAKE_CXX_COMPILER})
    set(flags -std=c++20 -x c++)
  endif()
  add_test(NAME ffi.header_${lang}
           COMMAND ${compiler} ${flags} -Wall -Wextra -pedantic -Werror -fsyntax-only
                   -I${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_LIST_DIR}/c/header_check.c)
  set_tests_properties(ffi.header_${lang} PROPERTIES TIMEOUT 60 LABELS ffi)
endforeach()
