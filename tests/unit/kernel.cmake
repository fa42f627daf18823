# Unit tests of the kernel backend's pure parts (names, sizes, mount option parsing).
fsynclab_unit_test(test_kernel_options SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kernel_options.c LIBS fsynclab_harness)
