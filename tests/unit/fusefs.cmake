# Unit tests of the fusefs page cache state machine, errseq and profiles (no mount needed).
fsynclab_unit_test(test_errseq SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_errseq.c LIBS fsynclab_fusefs)
fsynclab_unit_test(test_profiles SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_profiles.c LIBS fsynclab_fusefs)
fsynclab_unit_test(test_pagecache SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pagecache.c LIBS fsynclab_fusefs)
