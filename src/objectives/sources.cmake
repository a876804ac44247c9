list(APPEND LETHE_SOURCES
  src/objectives/terms.cpp
  src/objectives/registry.cpp
  src/objectives/refusals.cpp
  src/objectives/sft.cpp
  src/objectives/grad_ascent.cpp
  src/objectives/grad_diff.cpp
  src/objectives/ga_kl.cpp
  src/objectives/npo.cpp
  src/objectives/npo_gd.cpp
  src/objectives/npo_kl.cpp
  src/objectives/simnpo.cpp
  src/objectives/dpo.cpp
  src/objectives/idk_dpo.cpp
  src/objectives/rt.cpp
  src/objectives/rmu.cpp
  src/objectives/task_vector.cpp
)
