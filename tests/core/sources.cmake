list(APPEND LETHE_TEST_SOURCES
  tests/core/core_test.cpp
  tests/core/ctest_entries_test.cpp
  tests/core/dir_lock_test.cpp
  tests/core/error_message_test.cpp
  tests/core/write_limits_test.cpp
  tests/crash_test_util.cpp
  tests/core/runtime_test.cpp
  tests/core/rng_test.cpp
)
