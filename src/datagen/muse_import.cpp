// MUSE -> lethe dataset folder: knowmem QA and verbmem passages into sf / sr, privleak passages
// into muse_privleak.jsonl, every file read against its exact field list.
#include "datagen/muse_import.h"

#include <cstdio>

#include "core/error.h"
#include "datagen/benchmark_files.h"

namespace lethe::datagen {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string padded(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04zu", n);
  return buf;
}

data::Profile corpus_person(const std::string& id, const std::string& name) {
  data::Profile p;
  p.id = id;
  p.name = name;
  p.role = data::Role::target;
  p.gender = "unknown";
  p.occupation = "text corpus";
  return p;
}

data::Fact fact_of(const data::QAPair& q, const std::string& relation) {
  data::Fact f;
  f.id = q.fact_id;
  f.person_id = q.person_id;
  f.subset = q.subset;
  f.relation = relation;
  f.value = q.answer;
  f.value_type = relation;
  f.text = q.answer;
  return f;
}

}  // namespace

json import_muse(const MuseImportOptions& options) {
  if (options.corpus != "news" && options.corpus != "books")
    throw UsageError("--corpus '" + options.corpus + "' is not one of news|books");
  const fs::path& src = options.src;
  LETHE_CHECK(fs::is_directory(src), src.string(), ": not a folder (give muse_bench's data/",
              options.corpus, " folder, holding knowmem/, verbmem/, privleak/)");
  json sources = json::object();
  data::Dataset d;
  d.dir = options.out;
  const std::string forget_person = "muse_forget", retain_person = "muse_retain";
  d.profiles = {corpus_person(forget_person, "the MUSE-" + options.corpus + " forget corpus"),
                corpus_person(retain_person, "the MUSE-" + options.corpus + " retain corpus")};

  // knowmem (C2 / C4): {question, answer} lists; forget -> sf, retain -> sr (`other`).
  const BenchmarkFile forget_qa{"knowmem/forget_qa.json", {"question", "answer"}, {}};
  for (const auto& r : read_benchmark_file(src, forget_qa, "MUSE", sources))
    d.sf.push_back(imported_qa("muse_knowmem_forget_" + padded(d.sf.size()), forget_person,
                               data::Subset::forget, text_field(r, "question"),
                               text_field(r, "answer")));
  LETHE_CHECK(!d.sf.empty(), (src / forget_qa.name).string(), ": no questions");
  const BenchmarkFile retain_qa{"knowmem/retain_qa.json", {"question", "answer"}, {}};
  for (const auto& r : read_benchmark_file(src, retain_qa, "MUSE", sources))
    d.sr.push_back(imported_qa("muse_knowmem_retain_" + padded(d.sr.size()), retain_person,
                               data::Subset::other, text_field(r, "question"),
                               text_field(r, "answer")));
  LETHE_CHECK(!d.sr.empty(), (src / retain_qa.name).string(), ": no questions");
  // The few-shot examples MUSE prepends to knowmem prompts: validated, not used (lethe prompts
  // through the chat template).
  for (const std::string icl : {"knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json"}) {
    const BenchmarkFile file{icl, {"question", "answer"}, {}};
    if (!fs::exists(src / icl)) continue;
    for (const auto& r : read_benchmark_file(src, file, "MUSE", sources)) {
      (void)text_field(r, "question");
      (void)text_field(r, "answer");
    }
  }

  // verbmem (C1): {prompt, gt}; the prompt is the question, its continuation the answer.
  const BenchmarkFile verbmem{"verbmem/forget.json", {"prompt", "gt"}, {}};
  size_t n_verbmem = 0;
  if (fs::exists(src / verbmem.name))
    for (const auto& r : read_benchmark_file(src, verbmem, "MUSE", sources)) {
      d.sf.push_back(imported_qa("muse_verbmem_forget_" + padded(n_verbmem++), forget_person,
                                 data::Subset::forget, text_field(r, "prompt"),
                                 text_field(r, "gt")));
    }

  // privleak (C3): lists of passages; members (forget), retain, non-members (holdout).
  std::string privleak;
  for (const std::string set : {"forget", "retain", "holdout"}) {
    const BenchmarkFile file{"privleak/" + set + ".json", {}, {}};
    if (!fs::exists(src / file.name)) continue;
    size_t i = 0;
    for (const auto& r : read_benchmark_file(src, file, "MUSE", sources))
      privleak += json{{"id", "muse_privleak_" + set + "_" + padded(i++)},
                       {"set", set},
                       {"text", text_field(r, "")}}
                      .dump() +
                  "\n";
  }

  for (const auto& q : d.sf)
    d.facts.push_back(fact_of(q, q.id.rfind("muse_verbmem", 0) == 0 ? "muse_verbmem" : "muse_qa"));
  for (const auto& q : d.sr) d.facts.push_back(fact_of(q, "muse_qa"));
  d.index();
  std::vector<std::pair<std::string, std::string>> extra;
  if (!privleak.empty()) extra.emplace_back(kMusePrivleakFile, privleak);
  const json manifest = {
      {"generator", kMuseImporterName}, {"generator_version", kMuseImporterVersion},
      {"benchmark", kMuseBenchmark},    {"source", "swj0419/muse_bench data/" + options.corpus},
      {"corpus", options.corpus},       {"wrong_details", false},
      {"verbmem", n_verbmem},           {"sources", sources}};
  return write_imported_folder(d, extra, manifest);
}

}  // namespace lethe::datagen
