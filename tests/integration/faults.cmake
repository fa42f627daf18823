# Integration test of the fault-control commands (inject, clear, status, reboot) against a real
# fsynclab mount; uses the fusefs tests' helpers (fusefs_lib.sh, fsio).
fsynclab_script_test(faults_cli integration ${CMAKE_CURRENT_LIST_DIR}/faults_cli.sh $<TARGET_FILE:fsio>)
set_tests_properties(faults_cli PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
# Read rules count the blocks the application reads (readahead, O_DIRECT, block sizes, dirty pages).
fsynclab_script_test(faults_read_blocks integration ${CMAKE_CURRENT_LIST_DIR}/faults_read_blocks.sh
  $<TARGET_FILE:fsio>)
set_tests_properties(faults_read_blocks PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
