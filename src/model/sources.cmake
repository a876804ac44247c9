list(APPEND LETHE_SOURCES
  src/model/attention.cpp
  src/model/causal_lm.cpp
  src/model/decoder_layer.cpp
  src/model/decoder_model.cpp
  src/model/generate.cpp
  src/model/kv_cache.cpp
  src/model/lora_linear.cpp
  src/model/mlp.cpp
  src/model/model_config.cpp
  src/model/selected_log_softmax.cpp
  src/model/sequence_scores.cpp
  src/model/rms_norm.cpp
  src/model/rotary.cpp
  src/model/token_logprobs.cpp
  src/model/weight_names.cpp
)
list(APPEND LETHE_SOURCES src/model/lora.cpp)  # LoRA over a whole model (the "train" engineer)
# Loading a model with its tokenizer, and the model commands, need the text area.
if("text" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_SOURCES src/model/pretrained.cpp)
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_inspect.cpp src/cli/cmd_generate.cpp src/cli/cmd_score.cpp)
  list(APPEND LETHE_COMMANDS inspect generate score)
endif()
