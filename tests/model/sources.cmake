list(APPEND LETHE_TEST_SOURCES
  tests/model/causal_lm_test.cpp
  tests/model/fuzz_regressions_test.cpp
  tests/model/generate_test.cpp
  tests/model/lora_linear_test.cpp
  tests/model/model_config_test.cpp
  tests/model/model_limits_test.cpp
  tests/model/selected_log_softmax_test.cpp
  tests/model/weight_names_test.cpp
)
if("text" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/model/model_commands_test.cpp)
endif()
