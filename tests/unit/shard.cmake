# Unit tests of `fsynclab run --shard I/N` (harness/shard.c).
fsynclab_unit_test(test_shard SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shard.c
  ${CMAKE_SOURCE_DIR}/harness/shard.c LIBS fsynclab_common)
target_include_directories(test_shard PRIVATE ${CMAKE_SOURCE_DIR}/harness)
