# Real-kernel tests (issue 6).
#   kernel_vm  (label vm): the device-mapper backend under Debian's stock kernel in a qemu TCG VM
#              (dm-error, dm-flakey error_writes/drop_writes, no dm-dust). About 25 s once the
#              kernel package is cached under the build tree; exit 77 = skipped (tools missing).
fsynclab_script_test(kernel_vm vm ${CMAKE_CURRENT_LIST_DIR}/kernel_vm.sh)
set_tests_properties(kernel_vm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
