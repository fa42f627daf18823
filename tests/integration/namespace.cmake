# Integration tests of namespace durability (fusefs/namespace.c, issue 8): one real mount per
# profile, driven with coreutils (sync FILE = fsync, sync -d = fdatasync, sync DIR = directory
# fsync) and `fsynclab reboot`; see namespace.sh.
foreach(p ext4-ordered ext4-data xfs btrfs keep-dirty)
  fsynclab_script_test(namespace_${p} integration ${CMAKE_CURRENT_LIST_DIR}/namespace.sh
    $<TARGET_FILE:fsio> ${p})
  set_tests_properties(namespace_${p} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
