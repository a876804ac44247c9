# `lethe run` needs the data generator, fine-tuning and the evaluator; the optional stages are
# compiled in when their areas' sources are in this build (pipeline is the last area, so every other
# area's list is complete here) and reported "unavailable" otherwise.
if("src/datagen/generate.cpp" IN_LIST LETHE_SOURCES AND "src/train/finetune.cpp" IN_LIST LETHE_SOURCES
   AND "src/eval/evaluator_run.cpp" IN_LIST LETHE_SOURCES
   AND "src/report/summary_table.cpp" IN_LIST LETHE_SOURCES)
  list(APPEND LETHE_SOURCES
    src/pipeline/stage.cpp
    src/pipeline/run_config.cpp
    src/pipeline/stages_core.cpp
    src/pipeline/pipeline.cpp
  )
  set(LETHE_PIPELINE_DEFS)
  if("src/train/unlearn.cpp" IN_LIST LETHE_SOURCES AND "src/train/relearn.cpp" IN_LIST LETHE_SOURCES)
    list(APPEND LETHE_SOURCES src/pipeline/stage_unlearn.cpp)
    list(APPEND LETHE_PIPELINE_DEFS LETHE_PIPELINE_HAS_UNLEARN=1)
  endif()
  if("src/quant/quantize_eval.cpp" IN_LIST LETHE_SOURCES)
    list(APPEND LETHE_SOURCES src/pipeline/stage_quantize.cpp)
    list(APPEND LETHE_PIPELINE_DEFS LETHE_PIPELINE_HAS_QUANT=1)
  endif()
  if("src/analysis/repr_run.cpp" IN_LIST LETHE_SOURCES)
    list(APPEND LETHE_SOURCES src/pipeline/stage_repr.cpp)
    list(APPEND LETHE_PIPELINE_DEFS LETHE_PIPELINE_HAS_ANALYSIS=1)
  endif()
  if("src/report/report_writer.cpp" IN_LIST LETHE_SOURCES)
    list(APPEND LETHE_SOURCES src/pipeline/stage_plots.cpp)
    list(APPEND LETHE_PIPELINE_DEFS LETHE_PIPELINE_HAS_PLOTS=1)
  endif()
  if("src/report/audit.cpp" IN_LIST LETHE_SOURCES)
    list(APPEND LETHE_SOURCES src/pipeline/stage_audit.cpp)
    list(APPEND LETHE_PIPELINE_DEFS LETHE_PIPELINE_HAS_AUDIT=1)
  endif()
  # run_config.cpp checks unlearn methods and quantization schemes when their areas are built.
  set_source_files_properties(src/pipeline/pipeline.cpp src/pipeline/run_config.cpp PROPERTIES
    COMPILE_DEFINITIONS "${LETHE_PIPELINE_DEFS}")
  list(APPEND LETHE_CLI_SOURCES src/cli/cmd_run.cpp)
  list(APPEND LETHE_COMMANDS run)
endif()
