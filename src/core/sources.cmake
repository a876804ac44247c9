list(APPEND LETHE_SOURCES
  src/core/atomic_file.cpp
  src/core/dir_lock.cpp
  src/core/error_message.cpp
  src/core/json_io.cpp
  src/core/memory.cpp
  src/core/progress.cpp
  src/core/runtime.cpp
  src/core/sha256.cpp
)
