list(APPEND LETHE_TEST_SOURCES
  tests/text/bpe_trainer_test.cpp
  tests/text/tokenizer_test.cpp
)
if("io" IN_LIST LETHE_AREAS)  # the tokenize command is built with io (src/text/sources.cmake)
  list(APPEND LETHE_TEST_SOURCES tests/text/tokenize_command_test.cpp)
endif()
