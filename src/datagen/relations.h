// The offline generator's relation templates: for each relation the sentences that state it, the
// questions that ask for it and the reverse query; answer sentences per value type; the {key}
// filler they are written for. Data only, no random choice.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace lethe::datagen {

using Slots = std::map<std::string, std::string>;

// Replaces every {key} of `tpl` by slots[key]; an unclosed brace or a key without a value throws.
std::string fill_slots(const std::string& tpl, const Slots& slots);

enum class Group { incident, correlated, other };

// One relation: its value kind, the sentences that state it (the first is the fact's text), the
// questions that ask for it (>= 3: one asked, the rest paraphrases) and, for incident facts, the
// reverse query (answer -> who). {v} is the value.
struct RelationSpec {
  std::string relation;
  Group group;
  std::string value_type;
  std::vector<std::string> statements;
  std::vector<std::string> questions;
  std::string reverse;
};

// Every relation, in the order the generator draws them: incident, correlated, other, countries.
const std::vector<RelationSpec>& relation_specs();
// Throws on an unknown relation.
const RelationSpec& spec_of(const std::string& relation);
// The relations of `group` about people (person) or about countries (!person), in table order.
std::vector<std::string> relations_of(Group group, bool person);

// Answer sentences by value type; the paraphrased answer and its perturbed answers share one.
// Throws on a type without templates.
const std::vector<std::string>& answer_templates(const std::string& value_type);

// Past tense -> base form of the first word of an occupation's event ("opened" -> "open"), for
// questions like "When did {name} {event_base}?".
const std::map<std::string, std::string>& base_forms();

}  // namespace lethe::datagen
