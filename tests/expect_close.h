// The one comparison helper for reference parity: reports the worst mismatch with its index.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

#include "test_paths.h"

namespace lethe::test {

// Passes when |got - want| <= atol + rtol * |want| everywhere (shapes must match).
::testing::AssertionResult expect_close(const std::string& name, const at::Tensor& got,
                                        const at::Tensor& want, double atol, double rtol = 0.0);
::testing::AssertionResult expect_close(const std::string& name, const std::vector<double>& got,
                                        const std::vector<double>& want, double atol,
                                        double rtol = 0.0);

// ../shared/fixtures/<relative>
std::string fixture_path(const std::string& relative);

// A fresh empty temporary folder for one test, removed by the caller if wanted.
std::string make_temp_dir(const std::string& tag);

// Runs the lethe binary with arguments (shell-quoted by the caller); returns exit code, fills output
// with stdout+stderr.
int run_lethe(const std::string& args, std::string* output);

}  // namespace lethe::test

#define EXPECT_CLOSE(name, got, want, ...) EXPECT_TRUE(::lethe::test::expect_close(name, got, want, __VA_ARGS__))
