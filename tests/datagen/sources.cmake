list(APPEND LETHE_TEST_SOURCES
  tests/datagen/generate_limits_test.cpp
  tests/datagen/offline_generator_test.cpp
  tests/datagen/quality_checks_test.cpp
  tests/datagen/llm_client_test.cpp
  tests/datagen/llm_fake_server.cpp
  tests/datagen/llm_fake_world.cpp
  tests/datagen/llm_generator_test.cpp
  tests/datagen/llm_validators_test.cpp
  tests/datagen/probes_test.cpp
  tests/datagen/llm_cli_test.cpp
  tests/datagen/tofu_import_test.cpp
  tests/datagen/tofu_layout.cpp
  tests/datagen/benchmark_import_test.cpp
  tests/datagen/benchmark_layout.cpp
)
