# Unit tests of fusefs/faults.c (rules, matching, triggers) and fusefs/control.c (socket path,
# request handling, the server driven by harness/control_client.c).
fsynclab_unit_test(test_faults SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_faults.c LIBS fsynclab_fusefs m)
fsynclab_unit_test(test_control SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_control.c LIBS fsynclab_harness)
fsynclab_unit_test(test_readretry SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_readretry.c LIBS fsynclab_fusefs)
