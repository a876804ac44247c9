set(LETHE_CLI_SOURCES
  src/cli/main.cpp
)
