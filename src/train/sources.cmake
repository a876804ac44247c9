list(APPEND LETHE_SOURCES
  src/data/batching.cpp
  src/train/adamw.cpp
  src/train/autocast.cpp
  src/train/checkpoint.cpp
  src/train/config_file.cpp
  src/train/finetune.cpp
  src/train/lr_schedule.cpp
  src/train/pretrain.cpp
  src/train/reference_cache.cpp
  src/train/stop_criterion.cpp
  src/train/train_options.cpp
  src/train/trainer.cpp
  src/train/training_eval.cpp
)
list(APPEND LETHE_CLI_SOURCES src/cli/cmd_finetune.cpp src/cli/cmd_pretrain.cpp)
list(APPEND LETHE_COMMANDS finetune pretrain)
# unlearning, sweeps, relearning attack, c10d scale-out ("unlearn")
list(APPEND LETHE_SOURCES src/train/unlearn.cpp src/train/sisa.cpp src/train/sweep.cpp src/train/relearn.cpp
     src/train/distributed.cpp src/train/process_group.cpp)
list(APPEND LETHE_CLI_SOURCES src/cli/cmd_unlearn.cpp src/cli/cmd_sweep.cpp src/cli/cmd_relearn.cpp)
list(APPEND LETHE_COMMANDS unlearn sweep relearn)
