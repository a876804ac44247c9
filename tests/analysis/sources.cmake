list(APPEND LETHE_TEST_SOURCES tests/analysis/analysis_test.cpp)
if("datagen" IN_LIST LETHE_AREAS AND "text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/analysis/repr_cli_test.cpp)
endif()
