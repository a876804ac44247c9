// A deterministic stand-in for an LLM that answers the LLM generator's four stages (people, facts,
// qa, probes) with valid JSON built from the request's INPUT block; for end-to-end tests.
#pragma once
#include <nlohmann/json.hpp>

namespace lethe::test {

// The reply content for a /v1/chat/completions request body of the LLM generator.
nlohmann::json fake_world_reply(const nlohmann::json& body);

}  // namespace lethe::test
