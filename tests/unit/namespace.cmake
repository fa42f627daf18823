# Unit tests of the namespace journal (fusefs/namespace.c): undo and commit rules on a temporary
# directory, no mount needed.
fsynclab_unit_test(test_namespace SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_namespace.c LIBS fsynclab_fusefs)
# The scenario options namespace: and sync_directory: (harness/scenario.c, additive).
fsynclab_unit_test(test_scenario_namespace SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scenario_namespace.c
  LIBS fsynclab_harness)
