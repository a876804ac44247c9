list(APPEND LETHE_SOURCES
  src/io/checkpoint.cpp
  src/io/model_path.cpp
  src/io/peft_adapter.cpp
  src/io/safetensors.cpp
  src/io/sisa_folder.cpp
)
