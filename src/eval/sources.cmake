list(APPEND LETHE_SOURCES
  src/eval/bootstrap.cpp
  src/eval/exact_memorization.cpp
  src/eval/extraction_strength.cpp
  src/eval/generation_health.cpp
  src/eval/kolmogorov.cpp
  src/eval/ks_test.cpp
  src/eval/metric_registry.cpp
  src/eval/metrics_health.cpp
  src/eval/metrics_mia.cpp
  src/eval/metrics_muse.cpp
  src/eval/metrics_rwku.cpp
  src/eval/metrics_tofu.cpp
  src/eval/mia.cpp
  src/eval/porter_stemmer.cpp
  src/eval/results_schema.cpp
  src/eval/roc_auc.cpp
  src/eval/rouge.cpp
  src/eval/rouge_pltrdy.cpp
  src/eval/sign_flip_test.cpp
  src/eval/truth_ratio.cpp
)
list(APPEND LETHE_CLI_SOURCES src/cli/cmd_metrics.cpp)
list(APPEND LETHE_COMMANDS metrics)
# The evaluator and `lethe eval` need the model, text and data layers (a metrics-only build skips them).
if("model" IN_LIST LETHE_AREAS AND "text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_SOURCES
    src/eval/evaluator_batching.cpp
    src/eval/evaluator.cpp
    src/eval/evaluator_run.cpp
  )
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_eval.cpp)
  list(APPEND LETHE_COMMANDS eval)
endif()
