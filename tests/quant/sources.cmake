list(APPEND LETHE_TEST_SOURCES
  tests/quant/fake_quant_test.cpp
  tests/quant/quantize_model_test.cpp
)
if("eval" IN_LIST LETHE_AREAS AND "datagen" IN_LIST LETHE_AREAS AND "analysis" IN_LIST LETHE_AREAS)
  list(APPEND LETHE_TEST_SOURCES tests/quant/quantize_eval_test.cpp)
endif()
