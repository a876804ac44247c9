// The --stop-when grammar: a tokenizer and a recursive-descent parser into a small expression tree;
// every error names its 1-based position in the text.
#include "train/stop_criterion.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/error.h"

namespace lethe::train {

struct StopCriterion::Node {
  enum class Kind { comparison, all_of, any_of };
  Kind kind = Kind::comparison;
  std::string key, op;  // comparison
  double number = 0.0;
  std::vector<std::shared_ptr<const Node>> children;  // all_of (and), any_of (or)
};

namespace {

using Node = StopCriterion::Node;

struct Token {
  enum class Kind { word, op, number, open, close, end };
  Kind kind = Kind::end;
  std::string text;
  size_t position = 0;  // 1-based
};

[[noreturn]] void syntax_error(size_t position, const std::string& what) {
  throw UsageError("--stop-when: at position " + std::to_string(position) + ": " + what);
}

std::string describe(const Token& t) {
  return t.kind == Token::Kind::end ? "the end of the text" : "'" + t.text + "'";
}

std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  size_t i = 0;
  const auto is_word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  while (i < text.size()) {
    const char c = text[i];
    const size_t at = i + 1;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')') {
      tokens.push_back({c == '(' ? Token::Kind::open : Token::Kind::close, std::string(1, c), at});
      ++i;
    } else if (c == '<' || c == '>' || c == '=' || c == '!') {
      std::string op(1, c);
      if (i + 1 < text.size() && text[i + 1] == '=') op += '=';
      if (op == "=" || op == "!")
        syntax_error(at, "'" + op + "' is not an operator (use <=, >=, <, >, == or !=)");
      tokens.push_back({Token::Kind::op, op, at});
      i += op.size();
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+') {
      const char* begin = text.c_str() + i;
      char* end = nullptr;
      std::strtod(begin, &end);
      const size_t n = static_cast<size_t>(end - begin);
      if (n == 0 || (i + n < text.size() && is_word(text[i + n])))
        syntax_error(at, "'" + text.substr(i, std::max<size_t>(n, 1)) + "...' is not a number");
      tokens.push_back({Token::Kind::number, text.substr(i, n), at});
      i += n;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text.size() && is_word(text[j])) ++j;
      tokens.push_back({Token::Kind::word, text.substr(i, j - i), at});
      i = j;
    } else {
      syntax_error(at, std::string("unexpected character '") + c + "'");
    }
  }
  tokens.push_back({Token::Kind::end, "", text.size() + 1});
  return tokens;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::vector<std::string>& known,
         std::vector<std::string>& keys)
      : tokens_(std::move(tokens)), known_(known), keys_(keys) {}

  std::shared_ptr<const Node> criterion() {
    auto first = conjunction();
    if (!is_word("or")) return first;
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::any_of;
    node->children.push_back(first);
    while (is_word("or")) {
      ++at_;
      node->children.push_back(conjunction());
    }
    return node;
  }

  void expect_end() const {
    const Token& t = tokens_[at_];
    if (t.kind == Token::Kind::close) syntax_error(t.position, "')' without a matching '('");
    if (t.kind != Token::Kind::end)
      syntax_error(t.position, "expected 'and', 'or' or the end, got " + describe(t));
  }

 private:
  bool is_word(const char* word) const {
    return tokens_[at_].kind == Token::Kind::word && tokens_[at_].text == word;
  }

  std::shared_ptr<const Node> conjunction() {
    auto first = term();
    if (!is_word("and")) return first;
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::all_of;
    node->children.push_back(first);
    while (is_word("and")) {
      ++at_;
      node->children.push_back(term());
    }
    return node;
  }

  std::shared_ptr<const Node> term() {
    const Token& t = tokens_[at_];
    if (t.kind == Token::Kind::open) {
      ++at_;
      auto inner = criterion();
      const Token& close = tokens_[at_];
      if (close.kind != Token::Kind::close)
        syntax_error(close.position, "expected ')' to close the '(' at position " +
                                         std::to_string(t.position) + ", got " + describe(close));
      ++at_;
      return inner;
    }
    if (t.kind != Token::Kind::word || t.text == "and" || t.text == "or")
      syntax_error(t.position, "expected a key (e.g. forget_rouge_l), got " + describe(t));
    if (std::find(known_.begin(), known_.end(), t.text) == known_.end()) {
      std::string valid;
      for (const auto& k : known_) valid += (valid.empty() ? "" : ", ") + k;
      throw UsageError("--stop-when: unknown key '" + t.text + "' at position " +
                       std::to_string(t.position) + " (valid: " + valid + ")");
    }
    auto node = std::make_shared<Node>();
    node->key = t.text;
    if (std::find(keys_.begin(), keys_.end(), t.text) == keys_.end()) keys_.push_back(t.text);
    ++at_;
    const Token& op = tokens_[at_];
    if (op.kind != Token::Kind::op)
      syntax_error(op.position, "expected a comparison (<=, >=, <, >, ==, !=) after '" + t.text +
                                    "', got " + describe(op));
    node->op = op.text;
    ++at_;
    const Token& number = tokens_[at_];
    if (number.kind != Token::Kind::number)
      syntax_error(number.position,
                   "expected a number after '" + op.text + "', got " + describe(number));
    node->number = std::strtod(number.text.c_str(), nullptr);
    ++at_;
    return node;
  }

  std::vector<Token> tokens_;
  const std::vector<std::string>& known_;
  std::vector<std::string>& keys_;
  size_t at_ = 0;
};

bool holds(const Node& node, const std::map<std::string, double>& values) {
  switch (node.kind) {
    case Node::Kind::all_of:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&](const auto& c) { return holds(*c, values); });
    case Node::Kind::any_of:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&](const auto& c) { return holds(*c, values); });
    case Node::Kind::comparison:
      break;
  }
  const auto it = values.find(node.key);
  LETHE_CHECK(it != values.end(), "--stop-when: the evaluation has no value for '", node.key, "'");
  const double v = it->second;
  if (node.op == "<=") return v <= node.number;
  if (node.op == ">=") return v >= node.number;
  if (node.op == "<") return v < node.number;
  if (node.op == ">") return v > node.number;
  if (node.op == "==") return v == node.number;
  return v != node.number;
}

}  // namespace

StopCriterion StopCriterion::parse(const std::string& text,
                                   const std::vector<std::string>& known_keys) {
  StopCriterion criterion;
  criterion.text_ = text;
  Parser parser(tokenize(text), known_keys, criterion.keys_);
  criterion.root_ = parser.criterion();
  parser.expect_end();
  return criterion;
}

bool StopCriterion::met(const std::map<std::string, double>& values) const {
  LETHE_CHECK(root_ != nullptr, "--stop-when: no criterion parsed");
  return holds(*root_, values);
}

}  // namespace lethe::train
