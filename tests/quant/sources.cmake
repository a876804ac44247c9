list(APPEND LETHE_TEST_SOURCES
  tests/quant/fake_quant_test.cpp
  tests/quant/quantize_model_test.cpp
)
