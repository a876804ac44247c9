list(APPEND LETHE_TEST_SOURCES
  tests/eval/benchmark_metrics_test.cpp
  tests/eval/bootstrap_test.cpp
  tests/eval/generation_health_test.cpp
  tests/eval/ks_test_test.cpp
  tests/eval/memorization_test.cpp
  tests/eval/metrics_cli_test.cpp
  tests/eval/mia_test.cpp
  tests/eval/rouge_test.cpp
  tests/eval/truth_ratio_test.cpp
)
if("model" IN_LIST LETHE_AREAS)  # batched scoring on each device
  list(APPEND LETHE_TEST_SOURCES tests/eval/scores_device_test.cpp)
endif()
if("model" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS AND "datagen" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/eval/evaluator_e2e_test.cpp
    tests/eval/benchmark_defaults_test.cpp)
endif()
