# Unit tests of the kernel backend's pure parts (names, sizes, mount option parsing).
fsynclab_unit_test(test_kernel_options SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kernel_options.c LIBS fsynclab_harness)
# The scenario keys backend/fs/mkfs/mount_options (harness/scenario.c, additive).
fsynclab_unit_test(test_scenario_backend SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scenario_backend.c LIBS fsynclab_harness)
