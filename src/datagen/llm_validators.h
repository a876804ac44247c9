// The checks each LLM stage applies to a schema-valid reply before accepting it. Each returns ""
// when the reply is acceptable, else one line naming the item and what is wrong (sent back to the
// model as the follow-up). Schema shape (required keys, types, minItems) is checked before these.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/records.h"
#include "datagen/llm_client.h"

namespace lethe::datagen {

// {"people": [...]}: exactly `count` people, full names with distinct given names, breakthrough
// 20-45 years after birth, a summary that names the person; with `incident`, the incident 0-3
// years after the breakthrough and its charge, institution and detail absent from the summary.
std::string validate_people_reply(const json& reply, int count, bool incident);

// {"facts": [...]}: snake_case relations without repeats, values of 1-8 words stated verbatim in a
// text that names `name`, `counts` facts per subset; with `no_leak`, no forget value inside a
// non-forget fact.
std::string validate_facts_reply(const json& reply, const std::map<std::string, int>& counts,
                                 const std::string& name, bool no_leak);

// {"qa": [...]}: one item per fact of `facts` (by id); questions that name `name`, do not contain
// the answer and do not repeat; paraphrased questions that differ from the question and name the
// person; a paraphrased answer with the value verbatim; distinct wrong values of the fact's kind
// that do not overlap it; with `no_leak`, no forget value in a retain item.
std::string validate_qa_reply(const json& reply, const std::map<std::string, data::Fact>& facts,
                              const std::vector<std::string>& forget_values,
                              const std::string& name, bool no_leak);

// {"probes": [...]}: one item per question of `answers` (qa id -> answer); passage and role play
// without the answer, a reverse query that does not name `name`.
std::string validate_probes_reply(const json& reply,
                                  const std::map<std::string, std::string>& answers,
                                  const std::string& name);

}  // namespace lethe::datagen
