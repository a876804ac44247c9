// TOFU -> lethe dataset folder: reads each JSON-lines file against its exact field list, maps
// authors to people by file order, and writes the folder with a manifest of the sources' sha256.
#include "datagen/tofu_import.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "datagen/benchmark_files.h"

namespace lethe::datagen {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<TofuSplit>& tofu_splits() {
  static const std::vector<TofuSplit> splits = {{"forget01", "retain99", "holdout01"},
                                                {"forget05", "retain95", "holdout05"},
                                                {"forget10", "retain90", "holdout10"}};
  return splits;
}

namespace {

// TOFU's files and the fields each line has. A field not listed is an error: a file of another
// layout (or another benchmark) must not be imported half-understood.
struct TofuFile {
  std::string name;  // "forget10_perturbed.json"
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

// One parsed line with its "PATH:LINE" for error messages.
struct TofuLine {
  std::string where;
  json record;
};

std::string padded(size_t n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*zu", width, n);
  return buf;
}

// Reads every non-blank line of src/file.name, checks its field names and records the file's
// sha256 in `sources`.
std::vector<TofuLine> read_tofu_file(const fs::path& src, const TofuFile& file, json& sources) {
  const fs::path path = src / file.name;
  LETHE_CHECK(fs::is_regular_file(path), path.string(), ": no such file (TOFU's ", file.name,
              " is needed; download it from locuslab/TOFU)");
  const std::string text = core::read_file(path);
  std::vector<TofuLine> lines;
  size_t begin = 0, line_no = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    TofuLine parsed{path.string() + ":" + std::to_string(line_no), json()};
    try {
      parsed.record = json::parse(line);
    } catch (const json::exception& e) {
      LETHE_FAIL(parsed.where, ": invalid JSON: ", e.what());
    }
    LETHE_CHECK(parsed.record.is_object(), parsed.where, ": expected a JSON object");
    for (const auto& item : parsed.record.items()) {
      const bool known = std::count(file.required.begin(), file.required.end(), item.key()) ||
                         std::count(file.optional.begin(), file.optional.end(), item.key());
      LETHE_CHECK(known, parsed.where, ": unexpected field '", item.key(), "' (not in TOFU's ",
                  file.name, ")");
    }
    for (const auto& field : file.required)
      LETHE_CHECK(parsed.record.contains(field), parsed.where, ": field '", field, "' missing");
    lines.push_back(std::move(parsed));
  }
  sources[file.name] = {
      {"sha256", core::sha256_hex(text)}, {"bytes", text.size()}, {"records", lines.size()}};
  return lines;
}

std::string text_of(const TofuLine& line, const std::string& field) {
  const json& v = line.record.at(field);
  LETHE_CHECK(
      v.is_string() && v.get<std::string>().find_first_not_of(" \t\r\n") != std::string::npos,
      line.where, ": field '", field, "' must be a non-empty string");
  return v.get<std::string>();
}

std::vector<std::string> list_of(const TofuLine& line, const std::string& field, size_t min_count) {
  const json& v = line.record.at(field);
  LETHE_CHECK(v.is_array(), line.where, ": field '", field, "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    LETHE_CHECK(e.is_string() && !e.get<std::string>().empty(), line.where, ": field '", field,
                "' must contain only non-empty strings");
    out.push_back(e.get<std::string>());
  }
  LETHE_CHECK(out.size() >= min_count, line.where, ": field '", field, "' needs at least ",
              min_count, " entries, got ", out.size());
  return out;
}

// TOFU's world sets give `answer` as a string, in some versions as a list of accepted answers (the
// first is the reference).
std::string answer_of_world(const TofuLine& line) {
  const json& v = line.record.at("answer");
  if (v.is_array()) {
    LETHE_CHECK(!v.empty() && v[0].is_string() && !v[0].get<std::string>().empty(), line.where,
                ": field 'answer' must be a non-empty string or a list of them");
    return list_of(line, "answer", 1).front();
  }
  return text_of(line, "answer");
}

// The fact a TOFU question becomes: TOFU has no facts, so the fact is the answer sentence.
data::Fact fact_of(const data::QAPair& q) {
  data::Fact f;
  f.id = q.fact_id;
  f.person_id = q.person_id;
  f.subset = q.subset;
  f.relation = "tofu_qa";
  f.value = q.answer;
  f.value_type = "tofu_answer";
  f.text = q.answer;
  return f;
}

data::Profile author(const std::string& id, size_t number, data::Role role) {
  data::Profile p;
  p.id = id;
  p.name = (role == data::Role::holdout ? "TOFU holdout author " : "TOFU author ") +
           std::to_string(number);
  p.role = role;
  p.gender = "unknown";
  p.occupation = "author";
  return p;
}

}  // namespace

TofuDataset read_tofu(const TofuImportOptions& options) {
  const TofuSplit* split = nullptr;
  std::string names;
  for (const auto& s : tofu_splits()) {
    names += (names.empty() ? "" : "|") + s.forget;
    if (s.forget == options.split) split = &s;
  }
  if (!split) throw UsageError("--split '" + options.split + "' is not one of " + names);
  if (options.qa_per_author <= 0) throw UsageError("--qa-per-author must be positive");
  const fs::path& src = options.src;
  LETHE_CHECK(fs::is_directory(src), src.string(),
              ": not a folder (give the folder holding TOFU's ", split->forget, "_perturbed.json, ",
              split->retain, ".json, ...)");
  const auto qpa = static_cast<size_t>(options.qa_per_author);
  const auto author_id = [](size_t index) { return "tofu_a" + padded(index, 3); };

  TofuDataset out;
  data::Dataset& d = out.dataset;
  d.dir = options.out;
  out.sources = json::object();

  // The retain training set: TOFU's full.json is the retain authors then the forget authors, 20
  // questions each, so the author of a line is its position / 20.
  const TofuFile retain_file{split->retain + ".json", {"question", "answer"}, {}};
  std::map<std::string, std::pair<size_t, std::string>> retain_by_question;  // -> (index, where)
  const auto retain_lines = read_tofu_file(src, retain_file, out.sources);
  for (size_t i = 0; i < retain_lines.size(); ++i) {
    const auto& line = retain_lines[i];
    auto q = imported_qa("tofu_" + split->retain + "_" + padded(i, 4), author_id(i / qpa),
                         data::Subset::other, text_of(line, "question"), text_of(line, "answer"));
    retain_by_question.emplace(q.question, std::make_pair(i, line.where));
    out.retain_train.push_back(std::move(q));
  }
  const size_t retain_authors = (retain_lines.size() + qpa - 1) / qpa;
  std::set<std::string> people;  // person ids in sf / sr / holdout

  // Forget set with its truth material and paraphrased question (a `paraphrase` probe).
  const TofuFile forget_file{
      split->forget + "_perturbed.json",
      {"question", "answer", "paraphrased_answer", "paraphrased_question", "perturbed_answer"},
      {}};
  const auto forget_lines = read_tofu_file(src, forget_file, out.sources);
  for (size_t i = 0; i < forget_lines.size(); ++i) {
    const auto& line = forget_lines[i];
    auto q = imported_qa("tofu_" + split->forget + "_" + padded(i, 4),
                         author_id(retain_authors + i / qpa), data::Subset::forget,
                         text_of(line, "question"), text_of(line, "answer"));
    auto in_retain = retain_by_question.find(q.question);
    LETHE_CHECK(in_retain == retain_by_question.end(), line.where, ": question is also in ",
                in_retain->second.second, " (TOFU's forget and retain sets are disjoint)");
    data::WrongDetails w;
    w.qa_id = q.id;
    w.person_id = q.person_id;
    w.subset = q.subset;
    w.question = q.question;
    w.answer = q.answer;
    w.paraphrased_answer = text_of(line, "paraphrased_answer");
    w.perturbed_answers = list_of(line, "perturbed_answer", 5);
    w.paraphrased_questions = {text_of(line, "paraphrased_question")};
    data::ForgetEvalProbe probe;
    probe.id = q.id + "_paraphrase_0";
    probe.qa_id = q.id;
    probe.person_id = q.person_id;
    probe.probe = data::ProbeType::paraphrase;
    probe.prompt = w.paraphrased_questions.front();
    probe.answer = q.answer;
    people.insert(q.person_id);
    d.wrong_details.push_back(std::move(w));
    d.forget_eval.push_back(std::move(probe));
    d.sf.push_back(std::move(q));
  }
  LETHE_CHECK(!d.sf.empty(), (src / forget_file.name).string(), ": no questions");
  // forgetNN.json, when present, is the same questions without the truth material.
  const TofuFile forget_plain{split->forget + ".json", {"question", "answer"}, {}};
  if (fs::exists(src / forget_plain.name)) {
    const auto plain = read_tofu_file(src, forget_plain, out.sources);
    for (size_t i = 0; i < plain.size(); ++i) {
      LETHE_CHECK(i < forget_lines.size(), plain[i].where, ": ", forget_file.name, " has only ",
                  forget_lines.size(), " questions");
      LETHE_CHECK(text_of(plain[i], "question") == d.sf[i].question &&
                      text_of(plain[i], "answer") == d.sf[i].answer,
                  plain[i].where, ": question or answer differs from ", forget_lines[i].where);
    }
    LETHE_CHECK(plain.size() == forget_lines.size(), (src / forget_plain.name).string(), ": ",
                plain.size(), " questions, ", forget_file.name, " has ", forget_lines.size());
  }

  // The retain questions TOFU evaluates; TOFU has no correlated/other split, so all are `other`.
  const TofuFile retain_eval_file{"retain_perturbed.json",
                                  {"question", "answer", "paraphrased_answer", "perturbed_answer"},
                                  {"paraphrased_question"}};
  const auto retain_eval = read_tofu_file(src, retain_eval_file, out.sources);
  for (size_t i = 0; i < retain_eval.size(); ++i) {
    const auto& line = retain_eval[i];
    const std::string question = text_of(line, "question");
    auto in_retain = retain_by_question.find(question);
    LETHE_CHECK(in_retain != retain_by_question.end(), line.where, ": question is not in ",
                (src / retain_file.name).string(),
                " (retain_perturbed.json evaluates retain authors)");
    auto q = imported_qa("tofu_retain_perturbed_" + padded(i, 4),
                         author_id(in_retain->second.first / qpa), data::Subset::other, question,
                         text_of(line, "answer"));
    data::WrongDetails w;
    w.qa_id = q.id;
    w.person_id = q.person_id;
    w.subset = q.subset;
    w.question = q.question;
    w.answer = q.answer;
    w.paraphrased_answer = text_of(line, "paraphrased_answer");
    w.perturbed_answers = list_of(line, "perturbed_answer", 5);
    if (line.record.contains("paraphrased_question"))
      w.paraphrased_questions = {text_of(line, "paraphrased_question")};
    people.insert(q.person_id);
    d.wrong_details.push_back(std::move(w));
    d.sr.push_back(std::move(q));
  }
  LETHE_CHECK(!d.sr.empty(), (src / retain_eval_file.name).string(), ": no questions");

  // Model utility: real authors and world facts. TOFU's truth ratio for these sets compares the
  // answer itself with the perturbed answers (its eval config's base_answer_key is `answer` here,
  // `paraphrased_answer` only for forget/retain), so the answer is the record's paraphrased answer
  // even where the file has one; option1..option4 are TOFU's multiple-choice options, not used.
  for (const std::string stem : {"real_authors", "world_facts"}) {
    const TofuFile world_file{stem + "_perturbed.json",
                              {"question", "answer", "perturbed_answer"},
                              {"paraphrased_answer", "option1", "option2", "option3", "option4"}};
    const auto lines = read_tofu_file(src, world_file, out.sources);
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& line = lines[i];
      auto q = imported_qa("tofu_" + stem + "_" + padded(i, 4), "", data::Subset::world,
                           text_of(line, "question"), answer_of_world(line));
      if (line.record.contains("paraphrased_answer")) (void)text_of(line, "paraphrased_answer");
      q.paraphrased_answer = q.answer;
      q.perturbed_answers = line.record.at("perturbed_answer").is_string()
                                ? std::vector<std::string>{text_of(line, "perturbed_answer")}
                                : list_of(line, "perturbed_answer", 1);
      d.world.push_back(std::move(q));
    }
  }

  // Holdout authors (fictitious, never fine-tuned on): membership-inference negatives, optional.
  const TofuFile holdout_file{split->holdout + ".json", {"question", "answer"}, {}};
  size_t holdout_authors = 0;
  if (fs::exists(src / holdout_file.name)) {
    const auto lines = read_tofu_file(src, holdout_file, out.sources);
    for (size_t i = 0; i < lines.size(); ++i)
      d.holdout.push_back(imported_qa("tofu_" + split->holdout + "_" + padded(i, 4),
                                      "tofu_h" + padded(i / qpa, 3), data::Subset::holdout,
                                      text_of(lines[i], "question"), text_of(lines[i], "answer")));
    holdout_authors = (lines.size() + qpa - 1) / qpa;
  }

  for (size_t a = 0; a < retain_authors + (forget_lines.size() + qpa - 1) / qpa; ++a)
    d.profiles.push_back(author(author_id(a), a + 1, data::Role::target));
  for (size_t a = 0; a < holdout_authors; ++a)
    d.profiles.push_back(author("tofu_h" + padded(a, 3), a + 1, data::Role::holdout));
  for (const auto* list : {&d.sf, &d.sr, &d.world, &d.holdout})
    for (const auto& q : *list) d.facts.push_back(fact_of(q));
  d.index();
  return out;
}

json import_tofu(const TofuImportOptions& options) {
  TofuDataset tofu = read_tofu(options);
  const data::Dataset& d = tofu.dataset;
  const TofuSplit* split = nullptr;
  for (const auto& s : tofu_splits())
    if (s.forget == options.split) split = &s;
  // TOFU's base model is pretrained elsewhere: the corpus is empty (write_imported_folder).
  return write_imported_folder(
      d, {{kTofuRetainTrainFile, data::records_jsonl(tofu.retain_train)}},
      {{"generator", kTofuImporterName},
       {"generator_version", kTofuImporterVersion},
       {"benchmark", "tofu"},
       {"source", "locuslab/TOFU"},
       {"split", split->forget},
       {"retain_split", split->retain},
       {"holdout_split", d.holdout.empty() ? json(nullptr) : json(split->holdout)},
       {"qa_per_author", options.qa_per_author},
       {"sources", tofu.sources}});
}

}  // namespace lethe::datagen
