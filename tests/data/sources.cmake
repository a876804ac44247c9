list(APPEND LETHE_TEST_SOURCES
  tests/data/fuzz_regressions_test.cpp
  tests/data/records_test.cpp
)
