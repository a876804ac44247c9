list(APPEND LETHE_SOURCES
  src/text/byte_level.cpp
  src/text/pre_tokenizer.cpp
  src/text/normalizer.cpp
  src/text/bpe_model.cpp
  src/text/bpe_trainer.cpp
  src/text/chat_template.cpp
  src/text/tokenizer.cpp
)
# The command resolves HF model ids through io, so it is built when io is.
if("io" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_tokenize.cpp)
  list(APPEND LETHE_COMMANDS tokenize)
endif()
