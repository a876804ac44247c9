list(APPEND LETHE_TEST_SOURCES
  tests/data/records_test.cpp
)
