// The rule checks of `lethe data check` and the quality report.
#include "datagen/quality_checks.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "datagen/pools.h"
#include "datagen/text_match.h"

namespace lethe::datagen {

namespace fs = std::filesystem;
using data::Dataset;
using data::QAPair;
using data::Role;
using data::Subset;

namespace {

bool is_year(const std::string& s) {
  return s.size() == 4 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

size_t word_count(const std::string& s) {
  std::string n = normalize_text(s);
  return n.empty() ? 0 : 1 + std::count(n.begin(), n.end(), ' ');
}

bool starts_upper(const std::string& s) { return !s.empty() && s[0] >= 'A' && s[0] <= 'Z'; }

bool has_digit(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<const QAPair*> all_qa(const Dataset& d) {
  std::vector<const QAPair*> out;
  for (const auto* list : {&d.sf, &d.sr, &d.world, &d.holdout})
    for (const auto& q : *list) out.push_back(&q);
  return out;
}

std::string value_type_of(const Dataset& d, const QAPair& q) {
  const data::Fact* f = d.fact(q.fact_id);
  return f ? f->value_type : "";
}

// One question's truth material: checks the perturbed answers against the paraphrased one.
void check_truth_material(const Dataset& d, const std::string& id, const std::string& value_type,
                          const std::string& answer, const std::string& paraphrased,
                          const std::vector<std::string>& perturbed, CheckResult& r) {
  ++r.checked;
  if (perturbed.size() < 5) {
    r.flag(id, "only " + std::to_string(perturbed.size()) + " perturbed answers (need >= 5)");
    return;
  }
  std::set<std::string> seen;
  for (const auto& wrong : perturbed) {
    std::string norm = normalize_text(wrong);
    if (!seen.insert(norm).second) {
      r.flag(id, "perturbed answer repeated: '" + wrong + "'");
      return;
    }
    if (norm == normalize_text(paraphrased) || contains_phrase(wrong, answer)) {
      r.flag(id, "perturbed answer '" + wrong + "' states the correct answer '" + answer + "'");
      return;
    }
    // The wrong value: what stands where the answer stands in the paraphrase (same sentence form),
    // else the span that differs.
    std::string wrong_value, right_value;
    size_t at = paraphrased.find(answer);
    if (at != std::string::npos) {
      std::string prefix = paraphrased.substr(0, at),
                  suffix = paraphrased.substr(at + answer.size());
      if (wrong.size() > prefix.size() + suffix.size() &&
          wrong.compare(0, prefix.size(), prefix) == 0 &&
          wrong.compare(wrong.size() - suffix.size(), suffix.size(), suffix) == 0) {
        wrong_value = wrong.substr(prefix.size(), wrong.size() - prefix.size() - suffix.size());
        right_value = answer;
      }
    }
    if (right_value.empty()) {
      wrong_value = differing_span(wrong, paraphrased);
      right_value = differing_span(paraphrased, wrong);
    }
    if (wrong_value.empty()) {
      r.flag(id, "perturbed answer '" + wrong + "' does not differ from the paraphrase");
      return;
    }
    if (!same_kind(value_type, right_value, wrong_value)) {
      r.flag(id, "perturbed value '" + wrong_value + "' is not the same kind (" + value_type +
                     ") as '" + right_value + "'");
      return;
    }
  }
}

void check_schema(const Dataset& d, const CheckContext& ctx, CheckResult& r) {
  r.checked = d.profiles.size() + d.facts.size() + d.sf.size() + d.sr.size() +
              d.wrong_details.size() + d.forget_eval.size() + d.world.size() + d.holdout.size() +
              d.corpus.size();
  for (const auto& e : ctx.load_errors) r.flag(e.substr(0, e.find(": ")), e);
}

// No incident detail (an sf answer) in a retain question, answer or their paraphrases, per person.
void check_leaks(const Dataset& d, const CheckContext&, CheckResult& r) {
  std::map<std::string, std::vector<const QAPair*>> forget_by_person;
  for (const auto& q : d.sf) forget_by_person[q.person_id].push_back(&q);
  for (const auto& q : d.sr) {
    ++r.checked;
    std::vector<std::string> texts = {q.question, q.answer};
    if (const auto* w = d.wrong_details_for(q.id)) {
      texts.push_back(w->paraphrased_answer);
      for (const auto& pq : w->paraphrased_questions) texts.push_back(pq);
    }
    for (const auto* f : forget_by_person[q.person_id]) {
      bool leaked = false;
      for (const auto& t : texts)
        if (contains_phrase(t, f->answer)) {
          r.flag(q.id, "forget answer '" + f->answer + "' (" + f->id +
                           ") occurs in retain text \"" + t + "\"");
          leaked = true;
          break;
        }
      if (leaked) break;
    }
  }
}

void check_wrong_answers(const Dataset& d, const CheckContext&, CheckResult& r) {
  for (const auto& w : d.wrong_details) {
    const QAPair* q = d.qa(w.qa_id);
    std::string type = q ? value_type_of(d, *q) : "";
    check_truth_material(d, w.qa_id, type, w.answer, w.paraphrased_answer, w.perturbed_answers, r);
  }
  for (const auto* list : {&d.world, &d.holdout})
    for (const auto& q : *list)
      check_truth_material(d, q.id, value_type_of(d, q), q.answer, q.paraphrased_answer,
                           q.perturbed_answers, r);
}

void check_paraphrases(const Dataset& d, const CheckContext&, CheckResult& r) {
  auto person_name = [&](const std::string& person_id) {
    const data::Profile* p = d.profile(person_id);
    return p ? p->name : std::string();
  };
  for (const auto& w : d.wrong_details) {
    ++r.checked;
    if (!contains_phrase(w.paraphrased_answer, w.answer)) {
      r.flag(w.qa_id, "paraphrased answer \"" + w.paraphrased_answer + "\" lacks the answer '" +
                          w.answer + "'");
      continue;
    }
    std::string name = person_name(w.person_id);
    for (const auto& pq : w.paraphrased_questions) {
      if (normalize_text(pq) == normalize_text(w.question)) {
        r.flag(w.qa_id, "paraphrased question is the question itself: \"" + pq + "\"");
        break;
      }
      if (!name.empty() && !contains_phrase(pq, name)) {
        r.flag(w.qa_id, "paraphrased question \"" + pq + "\" does not name " + name);
        break;
      }
    }
  }
  for (const auto* list : {&d.world, &d.holdout})
    for (const auto& q : *list) {
      ++r.checked;
      if (!contains_phrase(q.paraphrased_answer, q.answer))
        r.flag(q.id, "paraphrased answer \"" + q.paraphrased_answer + "\" lacks the answer '" +
                         q.answer + "'");
    }
  for (const auto& p : d.forget_eval) {
    ++r.checked;
    const QAPair* q = d.qa(p.qa_id);
    if (!q) continue;  // reported by the schema check
    if (p.probe == data::ProbeType::reverse_query) {
      std::string name = person_name(q->person_id);
      if (normalize_text(p.answer) != normalize_text(name))
        r.flag(p.id,
               "reverse query answer '" + p.answer + "' is not the person's name '" + name + "'");
    } else if (normalize_text(p.answer) != normalize_text(q->answer)) {
      r.flag(p.id,
             "probe answer '" + p.answer + "' differs from the forget answer '" + q->answer + "'");
    } else if (p.probe == data::ProbeType::multiple_choice) {
      std::set<std::string> opts;
      for (const auto& o : p.options) opts.insert(normalize_text(o));
      if (opts.size() != p.options.size()) r.flag(p.id, "multiple-choice options repeat");
    } else if (p.probe == data::ProbeType::paraphrase &&
               normalize_text(p.prompt) == normalize_text(q->question)) {
      r.flag(p.id, "paraphrase probe is the question itself");
    }
  }
}

void check_supported(const Dataset& d, const CheckContext&, CheckResult& r) {
  for (const auto& f : d.facts) {
    ++r.checked;
    if (!contains_phrase(f.text, f.value))
      r.flag(f.id, "fact text \"" + f.text + "\" does not state its value '" + f.value + "'");
  }
  for (const QAPair* q : all_qa(d)) {
    ++r.checked;
    const data::Fact* f = d.fact(q->fact_id);
    if (!f) continue;  // reported by the schema check
    if (normalize_text(q->answer) != normalize_text(f->value) &&
        !contains_phrase(q->answer, f->value))
      r.flag(q->id, "answer '" + q->answer + "' is not its fact's value '" + f->value + "'");
    else if (const data::Profile* p = d.profile(q->person_id);
             p && !contains_phrase(q->question, p->name))
      r.flag(q->id, "question \"" + q->question + "\" does not name " + p->name);
  }
}

void check_duplicates(const Dataset& d, const CheckContext&, CheckResult& r) {
  std::map<std::string, std::string> first;
  for (const QAPair* q : all_qa(d)) {
    ++r.checked;
    auto [it, fresh] = first.emplace(normalize_text(q->question), q->id);
    if (!fresh) r.flag(q->id, "question repeats " + it->second + ": \"" + q->question + "\"");
  }
}

// Target and holdout people never reach the base model (corpus) or the utility set (world).
void check_no_target_in_pretraining(const Dataset& d, const CheckContext&, CheckResult& r) {
  std::vector<const data::Profile*> hidden;
  for (const auto& p : d.profiles)
    if (p.role != Role::background) hidden.push_back(&p);
  auto scan = [&](const std::string& id, const std::string& person_id, const std::string& text) {
    ++r.checked;
    if (const data::Profile* p = d.profile(person_id); p && p->role != Role::background) {
      r.flag(id, "is about " + data::role_name(p->role) + " person " + p->id);
      return;
    }
    std::string padded = " " + normalize_text(text) + " ";
    for (const auto* p : hidden)
      if (padded.find(" " + normalize_text(p->name) + " ") != std::string::npos) {
        r.flag(id,
               "mentions " + data::role_name(p->role) + " person " + p->name + " (" + p->id + ")");
        return;
      }
  };
  for (const auto& c : d.corpus)
    scan(c.id, c.person_id, c.text + " " + c.question + " " + c.answer);
  for (const auto& q : d.world) {
    std::string text = q.question + " " + q.answer + " " + q.paraphrased_answer;
    for (const auto& p : q.perturbed_answers) text += " " + p;
    scan(q.id, q.person_id, text);
  }
}

void check_probes(const Dataset& d, const CheckContext&, CheckResult& r) {
  std::map<std::string, std::set<data::ProbeType>> seen;
  for (const auto& p : d.forget_eval) seen[p.qa_id].insert(p.probe);
  for (const auto& q : d.sf) {
    ++r.checked;
    for (auto type : data::all_probe_types())
      if (!seen[q.id].count(type)) {
        r.flag(q.id, "no " + data::probe_type_name(type) + " probe in forget_eval.jsonl");
        break;
      }
  }
}

void check_balance(const Dataset& d, const CheckContext& ctx, CheckResult& r) {
  std::map<std::string, std::map<Subset, int>> per_person;
  for (const QAPair* q : all_qa(d)) per_person[q->person_id][q->subset]++;
  auto want = [&](const char* key) {
    return ctx.options.is_object() && ctx.options.contains(key) &&
                   ctx.options[key].is_number_integer()
               ? ctx.options[key].get<int>()
               : -1;
  };
  const int want_sf = want("sf_per_target"), want_cor = want("correlated_per_target"),
            want_oth = want("other_per_target");
  for (const auto& p : d.profiles) {
    auto& counts = per_person[p.id];
    if (p.role == Role::target) {
      ++r.checked;
      int sf = counts[Subset::forget], cor = counts[Subset::correlated],
          oth = counts[Subset::other];
      std::string got = "forget " + std::to_string(sf) + ", correlated " + std::to_string(cor) +
                        ", other " + std::to_string(oth);
      if (sf == 0 || cor == 0 || oth == 0)
        r.flag(p.id, "target lacks a subset: " + got);
      else if ((want_sf >= 0 && sf != want_sf) || (want_cor >= 0 && cor != want_cor) ||
               (want_oth >= 0 && oth != want_oth))
        r.flag(p.id, "target has " + got + "; configured " + std::to_string(want_sf) + "/" +
                         std::to_string(want_cor) + "/" + std::to_string(want_oth));
    } else if (p.role == Role::holdout) {
      ++r.checked;
      int n = counts[Subset::holdout];
      if (n == 0 || (want_sf >= 0 && n != want_sf))
        r.flag(p.id, "holdout person has " + std::to_string(n) + " questions; configured " +
                         std::to_string(want_sf));
    }
  }
}

void check_corpus(const Dataset& d, const CheckContext&, CheckResult& r) {
  size_t bytes = 0;
  for (const auto& c : d.corpus) bytes += c.text.size();
  r.checked = d.corpus.size();
  if (bytes < 100 * 1000)
    r.flag(data::files::corpus,
           "corpus has " + std::to_string(bytes) + " bytes of text; a base model needs ~0.5-2 MB");
}

// The files are the ones the manifest describes (an edited file is worth a warning, not a failure).
void check_manifest(const Dataset& d, const CheckContext&, CheckResult& r) {
  if (!d.manifest.is_object() || !d.manifest.contains("files")) {
    r.flag(data::files::manifest, "no manifest.json with file hashes");
    return;
  }
  for (const auto& [name, entry] : d.manifest["files"].items()) {
    ++r.checked;
    fs::path path = d.dir / name;
    if (!fs::exists(path)) {
      r.flag(name, "listed in manifest.json but missing");
    } else if (entry.contains("sha256") && entry["sha256"] != core::sha256_file(path)) {
      r.flag(name, "sha256 differs from manifest.json (edited after generation?)");
    }
  }
}

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

}  // namespace

bool same_kind(const std::string& value_type, const std::string& correct,
               const std::string& wrong) {
  if (value_type == "year" || (is_year(correct) && value_type.empty())) return is_year(wrong);
  const auto& vocab = vocabulary(value_type);
  if (!vocab.empty() && std::find(vocab.begin(), vocab.end(), correct) != vocab.end())
    return std::find(vocab.begin(), vocab.end(), wrong) != vocab.end() ||
           (value_type == "continent" && wrong == "Antarctica");
  if (value_type == "person") {
    if (word_count(wrong) < 2 || !starts_upper(wrong)) return false;
    size_t last = wrong.find_last_of(' ');
    return starts_upper(wrong.substr(last + 1));
  }
  // Open kinds: the same shape (capitalised or not, digits or not, a similar length).
  size_t wc = word_count(correct), ww = word_count(wrong);
  bool numeric = !correct.empty() && std::all_of(correct.begin(), correct.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == ',' || c == '.';
  });
  if (numeric) return has_digit(wrong) && word_count(wrong) == 1;
  return starts_upper(correct) == starts_upper(wrong) && ww >= 1 && ww <= 3 * wc + 2 &&
         wc <= 3 * ww + 2;
}

const std::vector<Check>& rule_checks() {
  static const std::vector<Check> checks = {
      {"schema", "every record valid against its schema; ids unique; references resolve", true,
       check_schema},
      {"leak_forget_into_retain",
       "no forget answer (incident detail) in a retain question, answer or paraphrase of the same "
       "person",
       true, check_leaks},
      {"wrong_answers",
       ">= 5 perturbed answers, distinct, none equal to the correct one, each of the answer's kind",
       true, check_wrong_answers},
      {"paraphrase_keeps_answer",
       "paraphrased answers contain the answer; paraphrased questions differ and name the person; "
       "probe "
       "answers match",
       true, check_paraphrases},
      {"supported_by_fact", "each fact states its value; each QA answer is its fact's value", true,
       check_supported},
      {"duplicate_questions", "no question asked twice (normalised) across sf, sr, world, holdout",
       true, check_duplicates},
      {"no_target_in_pretraining", "corpus and world never mention a target or holdout person",
       true, check_no_target_in_pretraining},
      {"probes_complete", "every forget question has every probe type", true, check_probes},
      {"subsets_balanced",
       "per-person counts of forget / correlated / other / holdout as configured", true,
       check_balance},
      {"corpus_size", "corpus large enough to pretrain a small base model", false, check_corpus},
      {"manifest_matches", "every file's sha256 is the one manifest.json records", false,
       check_manifest},
  };
  return checks;
}

bool QualityReport::passed() const {
  for (const auto& c : checks)
    if (c.hard && !c.passed()) return false;
  return true;
}

nlohmann::json QualityReport::to_json() const {
  nlohmann::json out{{"dir", dir}, {"passed", passed()}, {"counts", counts}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : checks)
    list.push_back({{"name", c.name},
                    {"description", c.description},
                    {"hard", c.hard},
                    {"passed", c.passed()},
                    {"checked", c.checked},
                    {"flagged", c.flagged_ids.size()},
                    {"flagged_ids", c.flagged_ids},
                    {"messages", c.messages}});
  out["checks"] = list;
  return out;
}

std::string QualityReport::to_text() const {
  std::ostringstream out;
  size_t failed = 0;
  for (const auto& c : checks) failed += c.hard && !c.passed();
  out << "lethe data check " << dir << ": "
      << (passed() ? "PASSED" : "FAILED (" + std::to_string(failed) + " hard checks)") << "\n";
  out << "records:";
  for (const auto& [file, n] : counts["files"].items()) out << " " << file << " " << n;
  out << "\nsubsets:";
  for (const auto& [subset, n] : counts["subsets"].items()) out << " " << subset << " " << n;
  out << "\n\n";
  for (const auto& c : checks) {
    out << (c.passed() ? "[PASS] "
            : c.hard   ? "[FAIL] "
                       : "[WARN] ")
        << pad(c.name, 26) << (c.hard ? "hard" : "soft") << "  checked "
        << pad(std::to_string(c.checked), 7) << "flagged " << c.flagged_ids.size() << "\n       "
        << c.description << "\n";
    for (size_t i = 0; i < c.messages.size() && i < 20; ++i)
      out << "       - " << c.flagged_ids[i] << ": " << c.messages[i] << "\n";
    if (c.messages.size() > 20)
      out << "       ... " << c.messages.size() - 20 << " more in quality_report.json\n";
  }
  return out.str();
}

QualityReport check_dataset(const Dataset& d, const CheckContext& context,
                            const std::vector<Check>& extra) {
  QualityReport report;
  report.dir = d.dir.string();
  nlohmann::json files = {{data::files::profiles, d.profiles.size()},
                          {data::files::facts, d.facts.size()},
                          {data::files::sf, d.sf.size()},
                          {data::files::sr, d.sr.size()},
                          {data::files::wrong_details, d.wrong_details.size()},
                          {data::files::forget_eval, d.forget_eval.size()},
                          {data::files::world, d.world.size()},
                          {data::files::holdout, d.holdout.size()},
                          {data::files::corpus, d.corpus.size()}};
  nlohmann::json subsets = nlohmann::json::object();
  for (const QAPair* q : all_qa(d)) {
    std::string name = data::subset_name(q->subset);
    subsets[name] = subsets.value(name, 0) + 1;
  }
  report.counts = {{"files", files}, {"subsets", subsets}};
  std::vector<Check> checks = rule_checks();
  checks.insert(checks.end(), extra.begin(), extra.end());
  for (const auto& c : checks) {
    CheckResult r;
    r.name = c.name;
    r.description = c.description;
    r.hard = c.hard;
    c.run(d, context, r);
    report.checks.push_back(std::move(r));
  }
  return report;
}

QualityReport check_dataset_dir(const std::filesystem::path& dir, const std::vector<Check>& extra) {
  data::LoadResult loaded = data::load_dataset_collecting(dir);
  CheckContext context;
  context.load_errors = std::move(loaded.errors);
  if (loaded.dataset.manifest.is_object() && loaded.dataset.manifest.contains("options"))
    context.options = loaded.dataset.manifest["options"];
  return check_dataset(loaded.dataset, context, extra);
}

void write_quality_report(const std::filesystem::path& dir, const QualityReport& report) {
  core::write_json(dir / "quality_report.json", report.to_json());
  core::write_file_atomic(dir / "quality_report.txt", report.to_text());
}

}  // namespace lethe::datagen
