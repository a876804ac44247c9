# Only when `lethe run` is part of the build (src/pipeline/sources.cmake decides).
if("src/pipeline/pipeline.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_TEST_SOURCES
    tests/pipeline/pipeline_units_test.cpp
    tests/pipeline/run_e2e_test.cpp
  )
endif()
