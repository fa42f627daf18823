# Real-application tests (label "apps"): the drivers for LMDB, LevelDB and SQLite, built only when
# their libraries are found, and the scripts that run PostgreSQL, Redis and the drivers on an
# fsynclab mount under injected faults. A test whose application is missing reports itself as
# skipped (ctest SKIP_RETURN_CODE 77) with the reason, never as passed.

set(FSYNCLAB_APPS_DIR ${CMAKE_CURRENT_LIST_DIR})

# apps_find_lib(VAR PKG LIB HEADER) — pkg-config PKG if it has a .pc file, else find_library(LIB)
# and find_path(HEADER). Sets VAR_FOUND, VAR_LIBS and VAR_INCLUDES.
function(apps_find_lib var pkg lib header)
  pkg_check_modules(${var}_PC QUIET ${pkg})
  if(${var}_PC_FOUND)
    set(${var}_FOUND TRUE PARENT_SCOPE)
    set(${var}_LIBS ${${var}_PC_LINK_LIBRARIES} PARENT_SCOPE)
    set(${var}_INCLUDES ${${var}_PC_INCLUDE_DIRS} PARENT_SCOPE)
    return()
  endif()
  find_library(${var}_LIBRARY ${lib})
  find_path(${var}_INCLUDE ${header})
  if(${var}_LIBRARY AND ${var}_INCLUDE)
    set(${var}_FOUND TRUE PARENT_SCOPE)
    set(${var}_LIBS ${${var}_LIBRARY} PARENT_SCOPE)
    set(${var}_INCLUDES ${${var}_INCLUDE} PARENT_SCOPE)
  else()
    set(${var}_FOUND FALSE PARENT_SCOPE)
  endif()
endfunction()

# apps_driver(NAME VAR) — build tests/apps/NAME.c against library VAR if found, else say why not.
function(apps_driver name var)
  if(NOT ${var}_FOUND)
    message(STATUS "apps: ${name} not built: library not found (install the package listed in scripts/packages.d/apps.txt)")
    return()
  endif()
  add_executable(${name} ${FSYNCLAB_APPS_DIR}/${name}.c ${FSYNCLAB_APPS_DIR}/driver_common.c)
  target_include_directories(${name} PRIVATE ${FSYNCLAB_APPS_DIR} ${${var}_INCLUDES})
  target_link_libraries(${name} PRIVATE ${${var}_LIBS})
endfunction()

apps_find_lib(APPS_LMDB lmdb lmdb lmdb.h)
apps_find_lib(APPS_LEVELDB leveldb leveldb leveldb/c.h)
apps_find_lib(APPS_SQLITE sqlite3 sqlite3 sqlite3.h)
apps_driver(lmdb_driver APPS_LMDB)
apps_driver(leveldb_driver APPS_LEVELDB)
apps_driver(sqlite_driver APPS_SQLITE)

# apps_test(NAME script args...) — a script test labelled "apps"; exit 77 means skipped (with the
# reason on its output), never passed.
function(apps_test name script)
  fsynclab_script_test(${name} apps ${FSYNCLAB_APPS_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
endfunction()

# The drivers and the server lifecycle scripts themselves, on a plain directory.
apps_test(apps_selftest_lmdb drivers_selftest.sh lmdb_driver)
apps_test(apps_selftest_leveldb drivers_selftest.sh leveldb_driver)
apps_test(apps_selftest_sqlite_rollback drivers_selftest.sh sqlite_driver --journal delete)
apps_test(apps_selftest_sqlite_wal drivers_selftest.sh sqlite_driver --journal wal)
apps_test(apps_selftest_pg servers_selftest.sh pg)
apps_test(apps_selftest_redis servers_selftest.sh redis)

# The fault cases (driver_case.sh, pg_case.sh, redis_case.sh): each compares what the program did
# with the outcome pinned for CASE@PROFILE in its script. Registered as apps_CASE[@PROFILE].
function(apps_case script case)
  set(name apps_${case})
  if(ARGC GREATER 2)
    set(name ${name}@${ARGV2})
  endif()
  apps_test(${name} ${script} ${case} ${ARGN})
endfunction()

foreach(case lmdb-fsync-eio lmdb-writeback-eio lmdb-fsync-enospc leveldb-fsync-eio leveldb-writeback-eio
        leveldb-fsync-enospc sqlite-rollback-fsync-eio
        sqlite-rollback-extra-fsync-eio sqlite-rollback-writeback-eio sqlite-rollback-fsync-enospc
        sqlite-wal-fsync-eio sqlite-wal-writeback-eio sqlite-wal-fsync-enospc)
  apps_case(driver_case.sh ${case})
endforeach()
foreach(profile ext4-data xfs btrfs)
  foreach(case lmdb-writeback-eio leveldb-writeback-eio sqlite-rollback-writeback-eio sqlite-wal-writeback-eio)
    apps_case(driver_case.sh ${case} ${profile})
  endforeach()
endforeach()
apps_case(pg_case.sh pg-checkpoint-writeback-eio)
apps_case(pg_case.sh pg-checkpoint-writeback-eio ext4-data)
apps_case(pg_case.sh pg-checkpoint-writeback-eio btrfs)
apps_case(pg_case.sh pg-checkpoint-fsync-enospc)
apps_case(pg_case.sh pg-wal-fsync-eio)
foreach(case redis-always-fsync-eio redis-always-writeback-eio redis-always-fsync-enospc redis-everysec-fsync-eio
        redis-everysec-writeback-eio)
  apps_case(redis_case.sh ${case})
endforeach()
apps_case(redis_case.sh redis-always-writeback-eio ext4-data)

# `fsynclab mount --allow-other` (harness/cmd_mount.c, fusefs/ops_names.c lo_give_to_caller), which the
# server cases need: a filesystem feature, so labelled integration.
fsynclab_script_test(apps_mount_allow_other integration ${FSYNCLAB_APPS_DIR}/allow_other.sh)
set_tests_properties(apps_mount_allow_other PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)

# The application scenarios (scenarios/apps/*.yaml, run by `fsynclab run`): each tells one of the
# stories above as a scenario file a user can copy for their own program.
foreach(spec postgres-checkpoint-eio:pg postgres-checkpoint-eio-ext4-data:pg redis-aof-always-fsync-eio:redis
        redis-aof-everysec-writeback-eio:redis lmdb-writeback-eio-ext4-data:lmdb_driver
        leveldb-fsync-eio:leveldb_driver sqlite-rollback-fsync-eio:sqlite_driver sqlite-wal-writeback-eio:sqlite_driver)
  string(REPLACE ":" ";" parts ${spec})
  list(GET parts 0 scenario)
  list(GET parts 1 need)
  apps_test(apps_scenario_${scenario} run_scenario.sh ${scenario} ${need})
endforeach()
