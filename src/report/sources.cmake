list(APPEND LETHE_SOURCES
  src/report/aggregate.cpp
  src/report/aggregate_plots.cpp
  src/report/replication.cpp
  src/report/results_reader.cpp
  src/report/gnuplot.cpp
  src/report/plots.cpp
  src/report/report_writer.cpp
  src/report/summary_table.cpp
  src/report/training_evals.cpp
  src/report/neuron_table.cpp
  src/report/audit.cpp
  src/report/audit_bundle.cpp
)
list(APPEND LETHE_CLI_SOURCES src/cli/cmd_report.cpp src/cli/cmd_audit.cpp)
list(APPEND LETHE_COMMANDS report audit)
