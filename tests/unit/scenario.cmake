# Unit tests of the scenario language (harness/scenario*.c): valid and invalid files with their exact
# error positions, and the whole catalogue (scenarios/*.yaml) loading cleanly.
fsynclab_unit_test(test_scenario SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scenario.c LIBS fsynclab_harness)
target_compile_definitions(test_scenario PRIVATE
  SCENARIO_TEST_DATA="${CMAKE_CURRENT_LIST_DIR}/scenarios"
  SCENARIO_CATALOGUE="${CMAKE_SOURCE_DIR}/scenarios")
