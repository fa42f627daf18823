# The core scenario catalogue, end to end (README's main job): every story must match.
fsynclab_script_test(catalogue integration ${CMAKE_CURRENT_LIST_DIR}/catalogue.sh)
set_tests_properties(catalogue PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
