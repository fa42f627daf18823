# `fsynclab bench fs` end to end (root, /dev/fuse, fio): --json fields and paired ratios, the text
# report, bad input, and an interrupted run leaving nothing mounted. A smoke run, no timed assertion.
fsynclab_script_test(bench_fs integration ${CMAKE_CURRENT_LIST_DIR}/bench_fs.sh)
set_tests_properties(bench_fs PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
