# Run by ctest (TEST_INCLUDE_FILES, see CMakeLists.txt) each time it reads the test list: asks
# lethe_tests for its tests and declares one ctest entry per test, so `ctest -j N`, `ctest -R NAME`
# and per-test timeouts work. A suite whose fixture builds something costly once for all its tests
# (SetUpTestSuite: a whole `lethe run --quick`, a fine-tuned model) is one entry, "Suite.*", so that
# work is not repeated per test; tests/shared_fixture_suites.txt lists them (a test checks the list).
# Inputs: LETHE_TEST_BINARY, LETHE_SHARED_SUITES_FILE, LETHE_TEST_TIMEOUT, LETHE_TEST_WORKDIR.
cmake_policy(SET CMP0057 NEW)  # if(... IN_LIST ...) in this ctest-time script
if(NOT EXISTS "${LETHE_TEST_BINARY}")
  # Not built yet: one entry that fails and says so, rather than an empty, green test list.
  add_test(lethe_tests_not_built "${LETHE_TEST_BINARY}")
  return()
endif()
execute_process(COMMAND "${LETHE_TEST_BINARY}" --gtest_list_tests
  OUTPUT_VARIABLE listing RESULT_VARIABLE listed ERROR_VARIABLE listing_error)
if(NOT listed EQUAL 0)
  add_test(lethe_tests_cannot_list "${LETHE_TEST_BINARY}" --gtest_list_tests)
  return()
endif()
file(STRINGS "${LETHE_SHARED_SUITES_FILE}" shared_suites REGEX "^[A-Za-z0-9_/]+$")

set(entries)
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z0-9_/]+)\\.( .*)?$")  # "Suite." (typed suites add "  # TypeParam")
    set(suite "${CMAKE_MATCH_1}")
    set(grouped FALSE)
    if(suite IN_LIST shared_suites)
      set(grouped TRUE)
      list(APPEND entries "${suite}.*")
    endif()
  elseif(line MATCHES "^  ([A-Za-z0-9_/]+)" AND NOT grouped)  # "  Test" (parameters: "  # GetParam()")
    set(test "${CMAKE_MATCH_1}")
    # DISABLED_ tests are helpers other tests start (DistributedWorker.DISABLED_Rank).
    if(NOT test MATCHES "^DISABLED_" AND NOT suite MATCHES "^DISABLED_")
      list(APPEND entries "${suite}.${test}")
    endif()
  endif()
endforeach()
foreach(entry IN LISTS entries)
  add_test("${entry}" "${LETHE_TEST_BINARY}" "--gtest_filter=${entry}" --gtest_brief=1)
  set_tests_properties("${entry}" PROPERTIES TIMEOUT "${LETHE_TEST_TIMEOUT}"
    WORKING_DIRECTORY "${LETHE_TEST_WORKDIR}")
endforeach()
