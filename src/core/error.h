// Errors: the library throws lethe::Error with context; cli/main.cpp turns it into one line and an exit code.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace lethe {

// A failure caused by input (a file, a record, an option): reported as one line, exit code 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad command-line usage: exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace lethe

// LETHE_CHECK(cond, "file.json: field 'x' must be positive, got ", x) throws lethe::Error.
#define LETHE_CHECK(cond, ...)                                   \
  do {                                                           \
    if (!(cond)) throw ::lethe::Error(::lethe::detail::concat(__VA_ARGS__)); \
  } while (0)

#define LETHE_FAIL(...) throw ::lethe::Error(::lethe::detail::concat(__VA_ARGS__))
