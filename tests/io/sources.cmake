list(APPEND LETHE_TEST_SOURCES
  tests/io/checkpoint_test.cpp
  tests/io/fuzz_regressions_test.cpp
  tests/io/peft_adapter_test.cpp
  tests/io/safetensors_test.cpp
)
