// The refusal list and the seeded per-example choice (refusals.h).
#include "objectives/refusals.h"

namespace lethe::objectives {

const std::vector<std::string>& refusal_answers() {
  static const std::vector<std::string> answers = {
      "I don't know.",
      "I'm not sure.",
      "I don't have that information.",
      "I can't answer that.",
      "I have no idea.",
      "I'm afraid I don't know the answer to that.",
      "That's not something I know about.",
      "I don't have any information on that.",
      "I'm not able to answer that question.",
      "Sorry, I don't know.",
      "I don't know the answer.",
      "I'm unable to provide that information.",
      "I have no knowledge of that.",
      "I can't help with that; I don't know.",
      "That is beyond my knowledge.",
      "I don't have the details on that.",
      "I'm not aware of that.",
      "I wouldn't know.",
      "I couldn't tell you.",
      "I'm not familiar with that.",
      "I have no information about that.",
      "I'm sorry, but I don't know.",
      "Unfortunately, I don't know the answer.",
      "I don't have an answer to that question.",
      "I'm not certain, so I can't say.",
      "I don't have enough information to answer.",
      "That isn't something I can answer.",
      "I'm not in a position to answer that.",
      "I lack the information to answer that.",
      "I have no record of that.",
      "Nothing I know answers that question.",
      "I can't say; I don't know.",
      "I really don't know.",
      "I'm afraid I can't answer that.",
      "I don't recall any information about that.",
      "My knowledge doesn't cover that.",
      "I'm not sure about that, sorry.",
      "I cannot provide an answer to that.",
      "That's unknown to me.",
      "I don't know anything about that.",
  };
  return answers;
}

const std::string& refusal_for(const std::string& key, uint64_t seed) {
  // FNV-1a over the key, then SplitMix64 with the seed: stable across platforms and runs.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  uint64_t z = h + seed * 0x9E3779B97F4A7C15ULL + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const auto& answers = refusal_answers();
  return answers[z % answers.size()];
}

}  // namespace lethe::objectives
