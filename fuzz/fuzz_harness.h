// The libFuzzer side of an entry point: lethe::Error is the expected way to reject input; any other
// exception (a json::exception, a Violation, std::out_of_range, c10::Error, ...) is a finding.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "core/error.h"

#define LETHE_FUZZ_TARGET(entry)                                             \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {  \
    try {                                                                    \
      entry(data, size);                                                     \
    } catch (const ::lethe::Error&) {                                        \
    } catch (const std::exception& e) {                                      \
      std::fprintf(stderr, "lethe fuzz: escaped exception: %s\n", e.what()); \
      std::abort();                                                          \
    }                                                                        \
    return 0;                                                                \
  }
