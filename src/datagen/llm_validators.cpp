// The LLM stages' reply validators.
#include "datagen/llm_validators.h"

#include <regex>
#include <set>

#include "datagen/llm_stages.h"
#include "datagen/quality_checks.h"
#include "datagen/text_match.h"

namespace lethe::datagen {

using llm::first_word;
using llm::words;

std::string validate_people_reply(const json& reply, int count, bool incident) {
  const auto& people = reply["people"];
  if (static_cast<int>(people.size()) != count)
    return "expected exactly " + std::to_string(count) + " people, got " +
           std::to_string(people.size());
  std::set<std::string> firsts;
  for (size_t i = 0; i < people.size(); ++i) {
    const auto& p = people[i];
    std::string at = "people[" + std::to_string(i) + "]";
    std::string name = p["name"];
    if (words(name) < 2) return at + ".name must be a full name, got '" + name + "'";
    if (!firsts.insert(first_word(name)).second)
      return at + ": the given name of '" + name + "' repeats another person's";
    int by = p["birth_year"], bty = p["breakthrough"]["year"];
    if (bty - by < 20 || bty - by > 45)
      return at + ".breakthrough.year must be 20-45 years after birth (" + std::to_string(by) +
             "), got " + std::to_string(bty);
    if (!contains_phrase(p["summary"], name)) return at + ".summary must name " + name;
    if (incident) {
      const auto& inc = p["incident"];
      int iy = inc["year"];
      if (iy < bty || iy > bty + 3)
        return at + ".incident.year must be within three years after the breakthrough (" +
               std::to_string(bty) + "), got " + std::to_string(iy);
      for (const char* field : {"charge", "institution", "detail"})
        if (contains_phrase(p["summary"], inc[field]))
          return at + ".summary mentions the incident (" + std::string(field) + ")";
    }
  }
  return "";
}

std::string validate_facts_reply(const json& reply, const std::map<std::string, int>& counts,
                                 const std::string& name, bool no_leak) {
  static const std::regex snake("[a-z][a-z0-9_]*");
  std::map<std::string, int> got;
  std::set<std::string> relations;
  std::vector<std::string> forget_values, retain_texts;
  for (size_t i = 0; i < reply["facts"].size(); ++i) {
    const auto& f = reply["facts"][i];
    std::string at = "facts[" + std::to_string(i) + "]";
    std::string relation = f["relation"], value = f["value"], text = f["text"];
    if (!std::regex_match(relation, snake))
      return at + ".relation must be snake_case, got '" + relation + "'";
    if (!relations.insert(relation).second) return at + ": relation '" + relation + "' repeats";
    if (words(value) == 0 || words(value) > 8)
      return at + ".value must be 1-8 words, got '" + value + "'";
    if (!contains_phrase(text, value))
      return at + ".text must contain the value '" + value + "' verbatim";
    if (!contains_phrase(text, name)) return at + ".text must name " + name;
    got[f["subset"].get<std::string>()]++;
    if (f["subset"] == "forget")
      forget_values.push_back(value);
    else
      retain_texts.push_back(text + " | " + value);
  }
  for (const auto& [subset, n] : counts)
    if (got[subset] != n)
      return "expected " + std::to_string(n) + " " + subset + " facts, got " +
             std::to_string(got[subset]);
  if (no_leak)
    for (const auto& v : forget_values)
      for (const auto& t : retain_texts)
        if (contains_phrase(t, v))
          return "the forget value '" + v + "' appears in a non-forget fact: \"" + t + "\"";
  return "";
}

std::string validate_qa_reply(const json& reply, const std::map<std::string, data::Fact>& facts,
                              const std::vector<std::string>& forget_values,
                              const std::string& name, bool no_leak) {
  std::set<std::string> seen, questions;
  for (size_t i = 0; i < reply["qa"].size(); ++i) {
    const auto& q = reply["qa"][i];
    std::string at = "qa[" + std::to_string(i) + "]";
    std::string id = q["fact_id"];
    auto it = facts.find(id);
    if (it == facts.end()) return at + ".fact_id '" + id + "' is not one of the facts";
    if (!seen.insert(id).second) return at + ": fact '" + id + "' asked twice";
    const data::Fact& f = it->second;
    std::string question = q["question"];
    if (!contains_phrase(question, name)) return at + ".question must name " + name;
    if (contains_phrase(question, f.value))
      return at + ".question must not contain its answer '" + f.value + "'";
    if (!questions.insert(normalize_text(question)).second)
      return at + ": the question repeats another one";
    for (const auto& pq : q["paraphrased_questions"]) {
      if (normalize_text(pq) == normalize_text(question))
        return at + ": a paraphrased question repeats the question";
      if (!contains_phrase(pq, name)) return at + ": every paraphrased question must name " + name;
    }
    std::string para = q["paraphrased_answer"];
    if (para.find(f.value) == std::string::npos)
      return at + ".paraphrased_answer must contain the value '" + f.value + "' verbatim";
    std::set<std::string> wrong_seen;
    for (const auto& w : q["wrong_values"]) {
      std::string wrong = w;
      if (!wrong_seen.insert(normalize_text(wrong)).second)
        return at + ": wrong value '" + wrong + "' repeats";
      if (contains_phrase(wrong, f.value) || contains_phrase(f.value, wrong))
        return at + ": wrong value '" + wrong + "' overlaps the correct value '" + f.value + "'";
      if (!same_kind(f.value_type, f.value, wrong))
        return at + ": wrong value '" + wrong + "' is not the same kind (" + f.value_type +
               ") as '" + f.value + "'";
    }
    if (no_leak && f.subset != data::Subset::forget) {
      std::string texts = question + " | " + para;
      for (const auto& pq : q["paraphrased_questions"]) texts += " | " + pq.get<std::string>();
      for (const auto& v : forget_values)
        if (contains_phrase(texts, v))
          return at + ": a retain question or answer mentions the incident ('" + v + "')";
    }
  }
  if (seen.size() != facts.size())
    return "expected one item per fact (" + std::to_string(facts.size()) + "), got " +
           std::to_string(seen.size());
  return "";
}

std::string validate_probes_reply(const json& reply,
                                  const std::map<std::string, std::string>& answers,
                                  const std::string& name) {
  std::set<std::string> seen;
  for (size_t i = 0; i < reply["probes"].size(); ++i) {
    const auto& p = reply["probes"][i];
    std::string at = "probes[" + std::to_string(i) + "]";
    auto it = answers.find(p["qa_id"].get<std::string>());
    if (it == answers.end()) return at + ".qa_id is not one of the questions";
    if (!seen.insert(it->first).second) return at + ": question " + it->first + " repeats";
    if (contains_phrase(p["passage"], it->second))
      return at + ".passage must not contain the answer '" + it->second + "'";
    if (contains_phrase(p["role_play"], it->second))
      return at + ".role_play must not contain the answer '" + it->second + "'";
    if (contains_phrase(p["reverse_query"], name))
      return at + ".reverse_query must not name " + name;
  }
  if (seen.size() != answers.size())
    return "expected one item per question (" + std::to_string(answers.size()) + ")";
  return "";
}

}  // namespace lethe::datagen
