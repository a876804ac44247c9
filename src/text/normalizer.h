// Unicode normalizers of tokenizer.json ("NFC", "NFKC", "NFD", "NFKD" and a "Sequence" of them),
// via ICU. Other normalizer types (Lowercase, Replace, Prepend, ...) are rejected by `from_json`.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lethe::text {

class Normalizer {
 public:
  enum class Form { nfc, nfkc, nfd, nfkd };

  Normalizer() = default;  // the identity
  explicit Normalizer(std::vector<Form> forms) : forms_(std::move(forms)) {}

  // From tokenizer.json's "normalizer" value (null = identity); errors name `where`.
  static Normalizer from_json(const nlohmann::json& value, const std::string& where);

  // Normalizes valid UTF-8 text. ASCII text is returned unchanged without calling ICU.
  std::string apply(std::string_view text) const;

  bool is_identity() const { return forms_.empty(); }
  // tokenizer.json's form of this normalizer.
  nlohmann::json to_json() const;

 private:
  std::vector<Form> forms_;
};

// NFC, the normalizer of Qwen2's tokenizer.
std::string nfc(std::string_view text);

}  // namespace lethe::text
