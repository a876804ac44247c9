# Only when `lethe run` is part of the build (src/pipeline/sources.cmake decides).
# run_e2e_test.cpp (the --quick run end to end) is not listed yet: its evaluation stage takes > 4 min on
# the tiny model and the quick fine-tuning does not memorise the forget set yet (see docs/run.md).
if("src/pipeline/pipeline.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_TEST_SOURCES
    tests/pipeline/pipeline_units_test.cpp
  )
endif()
if("src/pipeline/stage_audit.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_TEST_SOURCES tests/pipeline/stage_audit_test.cpp)
endif()
