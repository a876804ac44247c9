// RWKU -> lethe dataset folder: one target person per `subject`, forget probes of levels 1-3 into
// sf.jsonl and neighbour probes of levels 1-2 into sr.jsonl, with RWKU's prompts as questions.
#include "datagen/rwku_import.h"

#include <cstdio>
#include <map>

#include "core/error.h"
#include "datagen/benchmark_files.h"

namespace lethe::datagen {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string padded(size_t n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*zu", width, n);
  return buf;
}

}  // namespace

std::string rwku_prompt(int level, const std::string& type, const std::string& query) {
  if (level == 1)
    return "Please complete the blank in the following question.\nQuestion: " + query + "\n";
  if (level == 3 && type == "affirmative suffix")
    return "Please briefly answer the following question.\nQuestion: " + query;
  if (level == 3 && type == "incontext learning")
    return "Please briefly answer the following question.\n" + query + "\n";
  return "Please briefly answer the following question.\nQuestion: " + query + "\n";
}

json import_rwku(const RwkuImportOptions& options) {
  const fs::path& src = options.src;
  LETHE_CHECK(fs::is_directory(src), src.string(),
              ": not a folder (give RWKU's All/ or one Target/N_Name/ folder, holding "
              "forget_level1.json ... neighbor_level2.json)");
  json sources = json::object();
  data::Dataset d;
  d.dir = options.out;
  std::map<std::string, std::string> person_of;  // subject -> person id
  const auto person = [&](const std::string& subject) {
    auto it = person_of.find(subject);
    if (it != person_of.end()) return it->second;
    data::Profile p;
    p.id = "rwku_t" + padded(person_of.size(), 3);
    p.name = subject;
    p.role = data::Role::target;
    p.gender = "unknown";
    p.occupation = "public figure";
    d.profiles.push_back(p);
    return person_of.emplace(subject, p.id).first->second;
  };
  json level3_types = json::object();

  struct ProbeFile {
    std::string set;  // forget | neighbor
    int level;
  };
  for (const ProbeFile& pf :
       {ProbeFile{"forget", 1}, ProbeFile{"forget", 2}, ProbeFile{"forget", 3},
        ProbeFile{"neighbor", 1}, ProbeFile{"neighbor", 2}}) {
    const std::string level = std::to_string(pf.level);
    // The fields RWKU's eval_forget.py / eval_neighbor.py read; level-3 probes name their attack.
    BenchmarkFile file{
        pf.set + "_level" + level + ".json", {"subject", "query", "answer", "level"}, {}};
    if (pf.level == 3) file.required.push_back("type");
    const auto records = read_benchmark_file(src, file, "RWKU", sources);
    LETHE_CHECK(!records.empty() || pf.set == "neighbor", (src / file.name).string(),
                ": no probes");
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      LETHE_CHECK(r.value.at("level").is_string() && r.value.at("level") == level, r.where,
                  ": field 'level' must be \"", level, "\" in ", file.name, ", got ",
                  r.value.at("level").dump());
      std::string type;
      if (pf.level == 3) {
        type = text_field(r, "type");
        level3_types[type] = level3_types.value(type, 0) + 1;
      }
      data::QAPair q;
      q.id = "rwku_" + pf.set + "_l" + level + "_" + padded(i, 5);
      q.person_id = person(text_field(r, "subject"));
      q.fact_id = "f_" + q.id;
      q.subset = pf.set == "forget" ? data::Subset::forget : data::Subset::other;
      q.question = rwku_prompt(pf.level, type, text_field(r, "query"));
      q.answer = text_field(r, "answer");
      data::Fact f;
      f.id = q.fact_id;
      f.person_id = q.person_id;
      f.subset = q.subset;
      f.relation = "rwku_" + pf.set + "_level" + level;
      f.value = q.answer;
      f.value_type = "rwku_answer";
      f.text = q.answer;
      d.facts.push_back(std::move(f));
      (pf.set == "forget" ? d.sf : d.sr).push_back(std::move(q));
    }
  }
  d.index();
  const json manifest = {
      {"generator", kRwkuImporterName}, {"generator_version", kRwkuImporterVersion},
      {"benchmark", kRwkuBenchmark},    {"source", "jinzhuoran/RWKU"},
      {"wrong_details", false},         {"targets", person_of.size()},
      {"level3_types", level3_types},   {"sources", sources}};
  return write_imported_folder(d, {}, manifest);
}

}  // namespace lethe::datagen
