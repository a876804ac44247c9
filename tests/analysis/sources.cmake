list(APPEND LETHE_TEST_SOURCES tests/analysis/analysis_test.cpp)
# neuron_change_test.cpp calls collect_states / neurons_json (repr_run.cpp).
if("text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/analysis/neuron_change_test.cpp)
endif()
if("datagen" IN_LIST LETHE_AREAS AND "text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/analysis/repr_cli_test.cpp)
endif()
