# docs.snippets: every C/C++ snippet of README.md, docs/ and the public headers' `Example:`
# sections compiles against the installed headers (tests/docs/snippets.py says how a snippet is
# wrapped), and no link in the docs leaves the repository. Not in the sanitizer builds: the
# snippets compile the same there.
if(NOT EXECUTOR_SANITIZE)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  find_program(EXECUTOR_ARM_CXX arm-none-eabi-g++)
  set(docs_arm_cxx "")
  if(EXECUTOR_ARM_CXX)
    set(docs_arm_cxx ${EXECUTOR_ARM_CXX})
  endif()
  add_test(NAME docs.snippets
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/snippets_test.sh ${PROJECT_BINARY_DIR}
                   ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/snippets.py
                   --source ${PROJECT_SOURCE_DIR} --cxx ${CMAKE_CXX_COMPILER}
                   --cc ${CMAKE_C_COMPILER} "--arm-cxx=${docs_arm_cxx}")
  set_tests_properties(docs.snippets PROPERTIES TIMEOUT 600 LABELS docs)
endif()
