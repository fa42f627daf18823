# libFuzzer target on the control protocol (fusefs/control.c + fusefs/faults.c), built and run only
# with -DFSYNCLAB_FUZZ=ON (clang). The sources are compiled into the target itself so that the
# fuzzer's coverage instrumentation reaches the parser. New inputs go to the build tree; the
# checked-in seeds are only read.
if(FSYNCLAB_FUZZ)
  set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer)
  add_executable(fuzz_control ${CMAKE_CURRENT_LIST_DIR}/fuzz_control.c
    ${CMAKE_SOURCE_DIR}/fusefs/faults.c ${CMAKE_SOURCE_DIR}/fusefs/control.c)
  target_include_directories(fuzz_control PRIVATE ${CMAKE_SOURCE_DIR}/fusefs)
  target_compile_options(fuzz_control PRIVATE ${FUZZ_FLAGS})
  target_link_options(fuzz_control PRIVATE ${FUZZ_FLAGS})
  target_link_libraries(fuzz_control PRIVATE fsynclab_common PkgConfig::JANSSON Threads::Threads m)
  set(FUZZ_CONTROL_CORPUS ${CMAKE_CURRENT_BINARY_DIR}/control_corpus)
  file(MAKE_DIRECTORY ${FUZZ_CONTROL_CORPUS})
  add_test(NAME fuzz_control COMMAND fuzz_control -max_total_time=30 -timeout=10
    -dict=${CMAKE_CURRENT_LIST_DIR}/control.dict ${FUZZ_CONTROL_CORPUS} ${CMAKE_CURRENT_LIST_DIR}/control_corpus)
  set_tests_properties(fuzz_control PROPERTIES LABELS fuzz TIMEOUT 180)
endif()
