list(APPEND LETHE_TEST_SOURCES
  tests/core/core_test.cpp
  tests/core/runtime_test.cpp
)
