# Integration tests of the scenario runner (`fsynclab run`) on real fsynclab mounts, as root:
# matching fixtures (text, JSON, JUnit, -j, -v/-q, --seed, FSYNCLAB_SCENARIOS, --all), a deliberately
# wrong expectation that must fail, an invalid file, a workload killed mid-run (crash step, SIGKILL
# from outside, Ctrl-C) with no stale mount left, and the HTML report opened in headless Chromium.
# Fixtures live in tests/integration/runner/. Exit 77 = skipped, with the reason printed.
foreach(t scenarios wrong_expectation killed html shard)
  fsynclab_script_test(runner_${t} integration ${CMAKE_CURRENT_LIST_DIR}/runner_${t}.sh)
  set_tests_properties(runner_${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
