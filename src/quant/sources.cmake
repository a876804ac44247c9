list(APPEND LETHE_SOURCES
  src/quant/fake_quant.cpp
  src/quant/quantize_model.cpp
  src/quant/scheme.cpp
)
# `lethe quantize-eval` re-runs the evaluator, which needs the model, text and data layers.
if("eval" IN_LIST LETHE_AREAS AND "text" IN_LIST LETHE_AREAS AND "data" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_SOURCES src/quant/quantize_eval.cpp)
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_quantize_eval.cpp)
  list(APPEND LETHE_COMMANDS quantize_eval)
endif()
