# libFuzzer target on WAL recovery (clang, -DFSYNCLAB_FUZZ=ON): arbitrary bytes as a segment.
if(FSYNCLAB_FUZZ)
  add_executable(fuzz_wal_recovery ${CMAKE_CURRENT_LIST_DIR}/fuzz_wal_recovery.c)
  target_compile_options(fuzz_wal_recovery PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_wal_recovery PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_wal_recovery PRIVATE fsynclab_wal PkgConfig::XXHASH)
  add_test(NAME fuzz_wal_recovery COMMAND fuzz_wal_recovery -max_total_time=30 -rss_limit_mb=1024)
  set_tests_properties(fuzz_wal_recovery PROPERTIES LABELS fuzz TIMEOUT 300)
endif()
