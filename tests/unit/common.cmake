# Unit tests of common/ (durations, errno names, whole-buffer pwrite).
fsynclab_unit_test(test_common SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_common.c LIBS fsynclab_common)
