list(APPEND LETHE_TEST_SOURCES
  tests/core/core_test.cpp
  tests/core/write_limits_test.cpp
  tests/crash_test_util.cpp
  tests/core/runtime_test.cpp
  tests/core/rng_test.cpp
)
