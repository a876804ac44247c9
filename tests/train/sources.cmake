list(APPEND LETHE_TEST_SOURCES
  tests/model/lora_test.cpp
  tests/train/autocast_test.cpp
  tests/train/batching_test.cpp
  tests/train/commands_test.cpp
  tests/train/config_file_test.cpp
  tests/train/optim_test.cpp
  tests/train/stop_criterion_test.cpp
  tests/train/trainer_device_test.cpp
  tests/train/trainer_test.cpp
  tests/train/training_eval_test.cpp
)
list(APPEND LETHE_TEST_SOURCES tests/train/sweep_crash_test.cpp tests/train/sweep_test.cpp tests/train/sweep_unlearn_test.cpp
     tests/train/sweep_relearn_test.cpp tests/train/distributed_test.cpp
     tests/train/unlearn_full_test.cpp tests/train/sisa_test.cpp)
