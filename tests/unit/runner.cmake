# Unit tests of the scenario runner's parts: the result model and report writers, the checks.
fsynclab_unit_test(test_report SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_report.c LIBS fsynclab_harness)
fsynclab_unit_test(test_checks SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_checks.c LIBS fsynclab_harness)
fsynclab_unit_test(test_workload SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_workload.c LIBS fsynclab_harness)
