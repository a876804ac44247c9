list(APPEND LETHE_SOURCES
  src/datagen/chat_response.cpp
  src/datagen/dedup.cpp
  src/datagen/http_client.cpp
  src/datagen/json_extract.cpp
  src/datagen/json_schema.cpp
  src/datagen/llm_client.cpp
  src/datagen/rate_limiter.cpp
  src/datagen/request_cache.cpp
  src/datagen/llm_generator.cpp
  src/datagen/llm_stage_context.cpp
  src/datagen/llm_people_stage.cpp
  src/datagen/llm_facts_stage.cpp
  src/datagen/llm_qa_stage.cpp
  src/datagen/llm_probes_stage.cpp
  src/datagen/llm_assemble.cpp
  src/datagen/llm_validators.cpp
  src/datagen/pools.cpp
  src/datagen/text_match.cpp
  src/datagen/generate_options.cpp
  src/datagen/relations.cpp
  src/datagen/probes.cpp
  src/datagen/offline_generator.cpp
  src/datagen/quality_checks.cpp
  src/datagen/generate.cpp
  src/datagen/tofu_import.cpp
  src/datagen/benchmark_files.cpp
  src/datagen/muse_import.cpp
  src/datagen/rwku_import.cpp
)
list(APPEND LETHE_CLI_SOURCES src/cli/cmd_data.cpp src/cli/cmd_data_llm.cpp
  src/cli/cmd_data_import.cpp)
list(APPEND LETHE_COMMANDS data)
