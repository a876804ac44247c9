// The stop criterion of `lethe unlearn --stop-when` (docs/training.md): comparisons of named
// evaluation keys with numbers joined by `and` / `or`, parsed once and evaluated on each
// evaluation row. Not here: computing the rows (train/training_eval.h).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lethe::train {

// Grammar (`and` binds tighter than `or`; parentheses group; whitespace is free):
//   criterion  := conjunction ("or" conjunction)*
//   conjunction := term ("and" term)*
//   term       := comparison | "(" criterion ")"
//   comparison := KEY OP NUMBER        KEY [a-z_][a-z0-9_]*, OP one of <= >= < > == !=
// NUMBER is a decimal or exponent literal ("0.2", "1e-3", "-1").
class StopCriterion {
 public:
  // Throws lethe::UsageError "--stop-when: at position P (1-based): WHAT" for a syntax error, and
  // "--stop-when: unknown key 'K' at position P (valid: ...)" for a key outside `known_keys`.
  static StopCriterion parse(const std::string& text, const std::vector<std::string>& known_keys);

  // Whether the criterion holds for these values. Throws lethe::Error naming a key it reads that
  // `values` lacks.
  bool met(const std::map<std::string, double>& values) const;

  const std::string& text() const { return text_; }
  // The keys the criterion reads, in order of first use.
  const std::vector<std::string>& keys() const { return keys_; }

  struct Node;  // the parsed expression (stop_criterion.cpp)

 private:
  std::string text_;
  std::vector<std::string> keys_;
  std::shared_ptr<const Node> root_;
};

}  // namespace lethe::train
