// Fuzz entry: tokenizer.json (+ tokenizer_config.json after a NUL byte) through Tokenizer::load
// (the streaming parser) and Tokenizer::from_json, then encode/decode of a fixed text and the chat
// template when there is one.
#pragma once
#include <cstring>

#include "core/error.h"
#include "fuzz_common.h"
#include "text/tokenizer.h"

namespace lethe::fuzz {

inline void tokenizer(const uint8_t* data, size_t size) {
  const char* begin = reinterpret_cast<const char*>(data);
  const char* nul = static_cast<const char*>(std::memchr(begin, 0, size));
  const std::string tokenizer_json(begin, nul ? nul : begin + size);
  const std::string config_json = nul ? std::string(nul + 1, begin + size) : std::string();
  const auto dir = scratch_dir() / "tokenizer";
  std::filesystem::remove_all(dir);
  write_scratch("tokenizer/tokenizer.json", tokenizer_json);
  if (nul) write_scratch("tokenizer/tokenizer_config.json", config_json);
  text::Tokenizer t = text::Tokenizer::load(dir);

  // The in-memory path must agree with the streaming one.
  const auto tj = nlohmann::json::parse(tokenizer_json, nullptr, false);
  LETHE_FUZZ_ASSERT(!tj.is_discarded(), "load accepted JSON that json::parse rejects");
  auto config = nlohmann::json::parse(config_json, nullptr, false);
  if (!nul) config = nlohmann::json::object();
  if (!config.is_discarded()) {
    const text::Tokenizer again = text::Tokenizer::from_json(tj, config, "tokenizer.json");
    LETHE_FUZZ_ASSERT(again.vocab_size() == t.vocab_size(), "load and from_json disagree");
  }

  for (const char* sample :
       {"Hello world, 1984!  \n\tna\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd <|im_end|>", "a"}) {
    std::vector<int64_t> ids;
    try {
      ids = t.encode(sample);
    } catch (const Error&) {
      continue;  // a vocabulary without some byte cannot encode it
    }
    for (int64_t id : ids)
      LETHE_FUZZ_ASSERT(id >= 0 && id < t.vocab_size(), "encode produced an id outside the vocab");
    (void)t.decode(ids);
    (void)t.decode(ids, true);
  }
  if (t.has_chat_template()) {
    try {
      (void)t.encode_qa("Who?", "Ana.");
    } catch (const Error&) {
    }
  }
}

}  // namespace lethe::fuzz
