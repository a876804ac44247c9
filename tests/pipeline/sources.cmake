# Only when `lethe run` is part of the build (src/pipeline/sources.cmake decides).
# run_e2e_test.cpp runs `lethe run --quick` end to end on the shipped models/lethe-base.
if("src/pipeline/pipeline.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_TEST_SOURCES
    tests/pipeline/fuzz_regressions_test.cpp
    tests/pipeline/pipeline_units_test.cpp
    tests/pipeline/run_crash_test.cpp
    tests/pipeline/run_e2e_test.cpp
    tests/pipeline/run_seeds_test.cpp
    tests/pipeline/unusable_out_test.cpp
    tests/pipeline/tofu_folder_test.cpp
    tests/pipeline/benchmark_folder_test.cpp
  )
endif()
if("src/pipeline/stage_audit.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_TEST_SOURCES tests/pipeline/stage_audit_test.cpp)
endif()
