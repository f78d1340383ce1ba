# Install into a temporary prefix and build an out-of-tree consumer against it (release builds
# only: a sanitized library would need a sanitized consumer).
if(NOT EXECUTOR_SANITIZE)
  add_test(NAME install.consumer
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/consumer_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(install.consumer PROPERTIES TIMEOUT 300 LABELS install)
endif()
