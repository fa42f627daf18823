# libFuzzer target on the scenario parser (harness/scenario*.c): any byte string must load or be
# refused with a message, never crash, leak or hang. Built only with -DFSYNCLAB_FUZZ=ON (clang).
# The run is bounded (-max_total_time=30). New inputs go to a corpus in the build tree; the
# catalogue and the invalid test files are read-only seeds.
# The parser's own sources are compiled into the target (not taken from fsynclab_harness) so that
# libFuzzer's coverage instrumentation reaches them.
if(FSYNCLAB_FUZZ)
  add_executable(fuzz_scenario ${CMAKE_CURRENT_LIST_DIR}/fuzz_scenario.c
    ${CMAKE_SOURCE_DIR}/harness/scenario.c ${CMAKE_SOURCE_DIR}/harness/scenario_yaml.c)
  target_include_directories(fuzz_scenario PRIVATE ${CMAKE_SOURCE_DIR}/harness)
  target_compile_options(fuzz_scenario PRIVATE -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_scenario PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_scenario PRIVATE fsynclab_fusefs fsynclab_common PkgConfig::FYAML
    PkgConfig::JANSSON)
  set(FUZZ_SCENARIO_CORPUS ${CMAKE_BINARY_DIR}/fuzz_scenario_corpus)
  file(MAKE_DIRECTORY ${FUZZ_SCENARIO_CORPUS})
  add_test(NAME fuzz_scenario
    COMMAND fuzz_scenario -max_total_time=30 -timeout=10 -rss_limit_mb=2048 -max_len=16384
      -dict=${CMAKE_CURRENT_LIST_DIR}/scenario.dict
      ${FUZZ_SCENARIO_CORPUS} ${CMAKE_SOURCE_DIR}/scenarios ${CMAKE_SOURCE_DIR}/tests/unit/scenarios/invalid
      ${CMAKE_SOURCE_DIR}/tests/unit/scenarios/valid)
  set_tests_properties(fuzz_scenario PROPERTIES LABELS fuzz TIMEOUT 180)
endif()
