list(APPEND LETHE_SOURCES
  src/analysis/hidden_drift.cpp
  src/analysis/linear_probe.cpp
  src/analysis/logit_lens.cpp
  src/analysis/mlp_activations.cpp
  src/analysis/neuron_change.cpp
)
# `lethe repr` loads a tokenizer and a dataset.
if("text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_SOURCES src/analysis/repr_run.cpp)
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_repr.cpp)
  list(APPEND LETHE_COMMANDS repr)
endif()
