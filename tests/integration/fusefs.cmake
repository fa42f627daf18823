# Integration tests of the fusefs daemon: each script mounts a real fsynclab filesystem in a
# temporary directory (as root), drives it with plain syscalls (fsio, passthrough_check) and the
# fsynclab CLI, and unmounts in an EXIT trap.
add_executable(fsio ${CMAKE_CURRENT_LIST_DIR}/fsio.c)
target_link_libraries(fsio PRIVATE fsynclab_common)
add_executable(passthrough_check ${CMAKE_CURRENT_LIST_DIR}/passthrough_check.c)
target_link_libraries(passthrough_check PRIVATE Threads::Threads)

foreach(t passthrough fsyncgate profiles errseq unsynced triggers effects cleanup outside privileges)
  fsynclab_script_test(fusefs_${t} integration ${CMAKE_CURRENT_LIST_DIR}/fusefs_${t}.sh
    $<TARGET_FILE:fsio> $<TARGET_FILE:passthrough_check>)
  set_tests_properties(fusefs_${t} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
