# Host tests of the Cortex-M executor (tests/cortexm/host/*_test.cpp): the same portable
# executor code as the firmware (runtime/cortexm/{executor,timer,irq,frame_pool}.cpp and the
# core's src/task_harness.cpp), built single-threaded without exceptions or RTTI, on a simulated
# interrupt port (host/sim_port.cpp) that the tests drive. They run in every preset (so under
# ASan+UBSan and TSan too). The firmware images under QEMU are registered by
# runtime/cortexm/CMakeLists.txt.
set(cm_root ${PROJECT_SOURCE_DIR}/runtime/cortexm)
set(cm_host ${CMAKE_CURRENT_LIST_DIR}/host)

# Do not depend on it directly: the Cortex-M core on the simulated port, for these tests only.
add_library(cortexm_sim_core STATIC
  ${PROJECT_SOURCE_DIR}/src/task_harness.cpp
  ${cm_root}/executor.cpp
  ${cm_root}/critical_section.cpp
  ${cm_root}/timer.cpp
  ${cm_root}/irq.cpp
  ${cm_root}/frame_pool.cpp
  ${cm_host}/sim_port.cpp
  ${cm_host}/pools.cpp)
target_compile_definitions(cortexm_sim_core PUBLIC EXECUTOR_SINGLE_THREADED=1)
target_compile_options(cortexm_sim_core PUBLIC -fno-exceptions -fno-rtti)
target_include_directories(cortexm_sim_core PUBLIC ${PROJECT_SOURCE_DIR}/include ${cm_root}
                                                   ${cm_host})
target_link_libraries(cortexm_sim_core PRIVATE executor_warnings)

file(GLOB cm_host_tests CONFIGURE_DEPENDS ${cm_host}/*_test.cpp)
foreach(source ${cm_host_tests})
  get_filename_component(component ${source} NAME_WE)
  string(REGEX REPLACE "_test$" "" component ${component})
  set(target cortexm_${component}_test)
  add_executable(${target} ${source})
  target_link_libraries(${target} PRIVATE cortexm_sim_core executor_warnings GTest::gtest
                                          GTest::gtest_main)
  add_test(NAME cortexm.${component} COMMAND ${target})
  set_tests_properties(cortexm.${component} PROPERTIES TIMEOUT 120 LABELS cortexm)
endforeach()
