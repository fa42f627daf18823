# Unit tests of the fusefs page cache state machine, errseq and profiles (no mount needed).
fsynclab_unit_test(test_errseq SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_errseq.c LIBS fsynclab_fusefs)
fsynclab_unit_test(test_profiles SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profiles.c LIBS fsynclab_fusefs)
fsynclab_unit_test(test_pagecache SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pagecache.c LIBS fsynclab_fusefs)
# harness/mountpoint.c: the mount point facts behind `fsynclab mount|umount`.
fsynclab_unit_test(test_mountpoint SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mountpoint.c LIBS fsynclab_harness)
