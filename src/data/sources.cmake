list(APPEND LETHE_SOURCES
  src/data/records.cpp
  src/data/dataset.cpp
)
