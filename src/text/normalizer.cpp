// Unicode normalization through ICU's Normalizer2 on UTF-8 directly (no UTF-16 round trip by hand).
#include "text/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include "core/error.h"

namespace lethe::text {

namespace {

const char* form_name(Normalizer::Form form) {
  switch (form) {
    case Normalizer::Form::nfc:
      return "NFC";
    case Normalizer::Form::nfkc:
      return "NFKC";
    case Normalizer::Form::nfd:
      return "NFD";
    case Normalizer::Form::nfkd:
      return "NFKD";
  }
  return "?";
}

const icu::Normalizer2* instance(Normalizer::Form form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case Normalizer::Form::nfc:
      n = icu::Normalizer2::getNFCInstance(status);
      break;
    case Normalizer::Form::nfkc:
      n = icu::Normalizer2::getNFKCInstance(status);
      break;
    case Normalizer::Form::nfd:
      n = icu::Normalizer2::getNFDInstance(status);
      break;
    case Normalizer::Form::nfkd:
      n = icu::Normalizer2::getNFKDInstance(status);
      break;
  }
  LETHE_CHECK(U_SUCCESS(status) && n, "ICU: cannot load the ", form_name(form),
              " normalizer: ", u_errorName(status));
  return n;
}

bool is_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0x80) return false;
  return true;
}

std::string normalize(Normalizer::Form form, std::string_view text) {
  const icu::Normalizer2* n = instance(form);
  UErrorCode status = U_ZERO_ERROR;
  icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (n->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  std::string out;
  out.reserve(text.size() + 8);
  icu::StringByteSink<std::string> sink(&out);
  n->normalizeUTF8(0, piece, sink, nullptr, status);
  LETHE_CHECK(U_SUCCESS(status), "ICU: ", form_name(form),
              " normalization failed: ", u_errorName(status));
  return out;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& value, const std::string& where) {
  if (value.is_null()) return Normalizer();
  LETHE_CHECK(value.is_object() && value.contains("type") && value["type"].is_string(), where,
              ": normalizer must be null or an object with a \"type\"");
  const std::string type = value["type"];
  if (type == "NFC") return Normalizer({Form::nfc});
  if (type == "NFKC") return Normalizer({Form::nfkc});
  if (type == "NFD") return Normalizer({Form::nfd});
  if (type == "NFKD") return Normalizer({Form::nfkd});
  if (type == "Sequence") {
    LETHE_CHECK(value.contains("normalizers") && value["normalizers"].is_array(), where,
                ": normalizer Sequence lacks a \"normalizers\" list");
    std::vector<Form> forms;
    for (const auto& item : value["normalizers"]) {
      auto inner = from_json(item, where);
      forms.insert(forms.end(), inner.forms_.begin(), inner.forms_.end());
    }
    return Normalizer(std::move(forms));
  }
  LETHE_FAIL(where, ": unsupported normalizer type '", type,
             "' (supported: null, NFC, NFKC, NFD, NFKD, Sequence of these)");
}

std::string Normalizer::apply(std::string_view text) const {
  if (forms_.empty() || is_ascii(text)) return std::string(text);
  std::string out(text);
  for (Form form : forms_) out = normalize(form, out);
  return out;
}

nlohmann::json Normalizer::to_json() const {
  if (forms_.empty()) return nullptr;
  if (forms_.size() == 1) return {{"type", form_name(forms_[0])}};
  nlohmann::json list = nlohmann::json::array();
  for (Form form : forms_) list.push_back({{"type", form_name(form)}});
  return {{"type", "Sequence"}, {"normalizers", list}};
}

std::string nfc(std::string_view text) { return Normalizer({Normalizer::Form::nfc}).apply(text); }

}  // namespace lethe::text
