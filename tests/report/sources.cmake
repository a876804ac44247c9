list(APPEND LETHE_TEST_SOURCES
  tests/report/aggregate_test.cpp
  tests/report/replication_test.cpp
  tests/report/report_test.cpp
  tests/report/audit_test.cpp
  tests/report/audit_portable_test.cpp
)
