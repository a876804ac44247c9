list(APPEND LETHE_TEST_SOURCES
  tests/objectives/objective_losses_test.cpp
  tests/objectives/objective_training_test.cpp
  tests/objectives/registry_test.cpp
  tests/objectives/task_vector_test.cpp
)
