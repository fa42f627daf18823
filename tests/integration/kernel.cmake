# Real-kernel tests (issue 6).
#   kernel_vm  (label vm): the device-mapper backend under Debian's stock kernel in a qemu TCG VM
#              (dm-error, dm-flakey error_writes/drop_writes, no dm-dust). About 25 s once the
#              kernel package is cached under the build tree; exit 77 = skipped (tools missing).
#              It also runs test_kernel_dm (below) inside the VM: the harness's own dm code.

# test_kernel_backend (label kernel): the loop-device stack and FIEMAP/Btrfs block mapping on real
# ext4, XFS and Btrfs, image in a temporary directory (no faults). Needs root; 77 = skipped.
add_executable(test_kernel_backend ${CMAKE_CURRENT_LIST_DIR}/test_kernel_backend.c)
target_link_libraries(test_kernel_backend PRIVATE fsynclab_harness)
add_test(NAME test_kernel_backend COMMAND test_kernel_backend)
set_tests_properties(test_kernel_backend PROPERTIES LABELS kernel TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)

# test_kernel_dm (label kernel): the dm backend (dm-error, dm-flakey). Skips (77) with "device-mapper
# not available in this kernel" where /dev/mapper/control is missing; kernel_vm runs it in the VM.
add_executable(test_kernel_dm ${CMAKE_CURRENT_LIST_DIR}/test_kernel_dm.c)
target_link_libraries(test_kernel_dm PRIVATE fsynclab_harness)
add_test(NAME test_kernel_dm COMMAND test_kernel_dm)
set_tests_properties(test_kernel_dm PROPERTIES LABELS kernel TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)

fsynclab_script_test(kernel_vm vm ${CMAKE_CURRENT_LIST_DIR}/kernel_vm.sh $<TARGET_FILE:test_kernel_dm>)
set_tests_properties(kernel_vm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# kernel_fsyncgate (label kernel): fsyncgate, errseq (two fds, late open), ENOSPC and the journal
# failure on real ext4 (ordered and data=journal), XFS and Btrfs, through an fsynclab --cache none
# mount and a loop device. Needs root, /dev/fuse and mkfs.{ext4,xfs,btrfs}; 77 = skipped.
add_executable(test_kernel_fsyncgate ${CMAKE_CURRENT_LIST_DIR}/test_kernel_fsyncgate.c)
target_link_libraries(test_kernel_fsyncgate PRIVATE fsynclab_harness)
fsynclab_script_test(kernel_fsyncgate kernel ${CMAKE_CURRENT_LIST_DIR}/kernel_fsyncgate.sh
  $<TARGET_FILE:test_kernel_fsyncgate>)
set_tests_properties(kernel_fsyncgate PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)

# kernel_scenarios (label kernel): the scenarios/kernel catalogue (fsyncgate, errseq, ENOSPC, journal
# failure on real ext4, XFS and Btrfs) through `fsynclab run`, backend kernel.
add_test(NAME kernel_scenarios COMMAND fsynclab run -q ${CMAKE_SOURCE_DIR}/scenarios/kernel)
set_tests_properties(kernel_scenarios PROPERTIES LABELS kernel TIMEOUT 300 RUN_SERIAL TRUE)

# kernel_compare (label kernel): `fsynclab compare` rows, reasons, JSON and usage errors.
fsynclab_script_test(kernel_compare kernel ${CMAKE_CURRENT_LIST_DIR}/kernel_compare.sh)
set_tests_properties(kernel_compare PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)

# kernel_dm_scenario (label kernel): a backend: dm scenario is skipped (never passed) without dm.
fsynclab_script_test(kernel_dm_scenario kernel ${CMAKE_CURRENT_LIST_DIR}/kernel_dm_scenario.sh)
set_tests_properties(kernel_dm_scenario PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE)
