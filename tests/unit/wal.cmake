# Unit tests of wal/ (the log, recovery, the table store) and of `fsynclab wal dump`.
fsynclab_unit_test(test_wal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal.c LIBS fsynclab_wal)
target_include_directories(test_wal PRIVATE ${CMAKE_CURRENT_LIST_DIR})
fsynclab_unit_test(test_wal_recovery SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_recovery.c LIBS fsynclab_wal)
target_include_directories(test_wal_recovery PRIVATE ${CMAKE_CURRENT_LIST_DIR})
fsynclab_unit_test(test_wal_table SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_table.c LIBS fsynclab_wal)
target_include_directories(test_wal_table PRIVATE ${CMAKE_CURRENT_LIST_DIR})
fsynclab_unit_test(test_wal_dump SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_dump.c LIBS fsynclab_harness PkgConfig::JANSSON)
target_include_directories(test_wal_dump PRIVATE ${CMAKE_CURRENT_LIST_DIR})
# The built binary end to end: bench wal writes a log, wal dump reads it back (label unit: fast).
fsynclab_script_test(test_wal_cli unit ${CMAKE_CURRENT_LIST_DIR}/test_wal_cli.sh)
