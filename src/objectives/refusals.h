// Refusal answers ("I don't know" variants) used as the preferred answers of dpo / idk_dpo and the
// targets of rt, in the spirit of TOFU's idontknow list. Plain strings; formatting is the data
// code's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::objectives {

// All refusal variants, in a fixed order (never empty, no duplicates).
const std::vector<std::string>& refusal_answers();

// The refusal for one example, a deterministic function of (key, seed): the same question (key =
// its id) always gets the same refusal, different questions spread over the list.
const std::string& refusal_for(const std::string& key, uint64_t seed = 0);

}  // namespace lethe::objectives
