// Loading a dataset folder record by record (errors name file:line) and cross-checking its
// references.
#include "data/dataset.h"

#include <fstream>
#include <set>

#include "core/error.h"

namespace lethe::data {

namespace fs = std::filesystem;

const std::vector<std::string>& dataset_jsonl_files() {
  static const std::vector<std::string> names = {
      files::profiles,    files::facts, files::sf,      files::sr,    files::wrong_details,
      files::forget_eval, files::world, files::holdout, files::corpus};
  return names;
}

namespace {

// Reads every line of a JSONL file into Records. With `errors`, a bad line is recorded and skipped;
// without, the first problem throws. Errors read "PATH:LINE: ...".
template <typename Record>
std::vector<Record> read_records(const fs::path& path, std::vector<std::string>* errors) {
  std::vector<Record> out;
  std::ifstream in(path);
  if (!in.good()) {
    std::string msg = path.string() +
                      ": cannot open: " + (fs::exists(path) ? "permission denied" : "no such file");
    if (!errors) throw Error(msg);
    errors->push_back(msg);
    return out;
  }
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path.string() + ":" + std::to_string(line_no);
    try {
      json record;
      try {
        record = json::parse(line);
      } catch (const json::exception& e) {  // parse_error, out_of_range (1e999)
        LETHE_FAIL(where, ": invalid JSON: ", e.what());
      }
      LETHE_CHECK(record.is_object(), where, ": expected a JSON object");
      out.push_back(Record::from_json(record, where));
    } catch (const Error& e) {
      if (!errors) throw;
      errors->push_back(e.what());
    }
  }
  return out;
}

// Duplicate ids within one list.
template <typename Record, typename Key>
void check_unique(const std::vector<Record>& records, Key key, const std::string& file,
                  std::vector<std::string>& errors) {
  std::set<std::string> seen;
  for (const auto& r : records)
    if (!seen.insert(key(r)).second) errors.push_back(file + ": duplicate id '" + key(r) + "'");
}

}  // namespace

std::vector<QAPair> load_qa(const fs::path& path) { return read_records<QAPair>(path, nullptr); }
std::vector<CorpusDoc> load_corpus(const fs::path& path) {
  return read_records<CorpusDoc>(path, nullptr);
}

void Dataset::index() {
  profile_index_.clear();
  fact_index_.clear();
  wrong_index_.clear();
  qa_index_.clear();
  for (size_t i = 0; i < profiles.size(); ++i) profile_index_.emplace(profiles[i].id, i);
  for (size_t i = 0; i < facts.size(); ++i) fact_index_.emplace(facts[i].id, i);
  for (size_t i = 0; i < wrong_details.size(); ++i) wrong_index_.emplace(wrong_details[i].qa_id, i);
  const std::vector<QAPair>* lists[] = {&sf, &sr, &world, &holdout};
  for (int l = 0; l < 4; ++l)
    for (size_t i = 0; i < lists[l]->size(); ++i)
      qa_index_.emplace((*lists[l])[i].id, std::make_pair(l, i));
}

const Profile* Dataset::profile(const std::string& id) const {
  auto it = profile_index_.find(id);
  return it == profile_index_.end() ? nullptr : &profiles[it->second];
}
const Fact* Dataset::fact(const std::string& id) const {
  auto it = fact_index_.find(id);
  return it == fact_index_.end() ? nullptr : &facts[it->second];
}
const WrongDetails* Dataset::wrong_details_for(const std::string& qa_id) const {
  auto it = wrong_index_.find(qa_id);
  return it == wrong_index_.end() ? nullptr : &wrong_details[it->second];
}
const QAPair* Dataset::qa(const std::string& id) const {
  auto it = qa_index_.find(id);
  if (it == qa_index_.end()) return nullptr;
  const std::vector<QAPair>* lists[] = {&sf, &sr, &world, &holdout};
  return &(*lists[it->second.first])[it->second.second];
}

std::vector<std::string> cross_check(const Dataset& d) {
  std::vector<std::string> errors;
  auto id_of = [](const auto& r) { return r.id; };
  check_unique(d.profiles, id_of, files::profiles, errors);
  check_unique(d.facts, id_of, files::facts, errors);
  check_unique(d.forget_eval, id_of, files::forget_eval, errors);
  check_unique(d.corpus, id_of, files::corpus, errors);
  check_unique(
      d.wrong_details, [](const WrongDetails& w) { return w.qa_id; }, files::wrong_details, errors);
  // QA ids are unique across all four QA files (they share one id space).
  std::set<std::string> qa_ids;
  struct QaFile {
    const char* name;
    const std::vector<QAPair>* records;
  };
  const QaFile qa_files[] = {{files::sf, &d.sf},
                             {files::sr, &d.sr},
                             {files::world, &d.world},
                             {files::holdout, &d.holdout}};
  for (const auto& f : qa_files)
    for (const auto& q : *f.records)
      if (!qa_ids.insert(q.id).second)
        errors.push_back(std::string(f.name) + ": duplicate id '" + q.id + "'");

  // Facts: their person exists and has the role the subset needs.
  for (const auto& f : d.facts) {
    std::string where = std::string(files::facts) + ": fact '" + f.id + "'";
    if (f.person_id.empty()) {
      if (f.subset != Subset::world)
        errors.push_back(where + ": field 'person_id' is empty but subset is " +
                         subset_name(f.subset));
      continue;
    }
    const Profile* p = d.profile(f.person_id);
    if (!p) {
      errors.push_back(where + ": person_id '" + f.person_id + "' is not in " + files::profiles);
      continue;
    }
    Role want = f.subset == Subset::world     ? Role::background
                : f.subset == Subset::holdout ? Role::holdout
                                              : Role::target;
    if (p->role != want)
      errors.push_back(where + ": subset " + subset_name(f.subset) + " needs a " + role_name(want) +
                       " person, '" + p->id + "' is " + role_name(p->role));
  }

  const bool publishes_wrong_details =
      !d.manifest.is_object() || d.manifest.value("wrong_details", true);
  // QA pairs: the file decides the allowed subsets; each names an existing fact of the same person.
  for (const auto& file : qa_files) {
    for (const auto& q : *file.records) {
      std::string where = std::string(file.name) + ": id '" + q.id + "'";
      std::string name = file.name;
      bool subset_ok = name == files::sf ? q.subset == Subset::forget
                       : name == files::sr
                           ? q.subset == Subset::correlated || q.subset == Subset::other
                       : name == files::world ? q.subset == Subset::world
                                              : q.subset == Subset::holdout;
      if (!subset_ok)
        errors.push_back(where + ": subset " + subset_name(q.subset) + " does not belong in " +
                         name);
      const Fact* f = d.fact(q.fact_id);
      if (!f) {
        errors.push_back(where + ": fact_id '" + q.fact_id + "' is not in " + files::facts);
      } else {
        if (f->person_id != q.person_id)
          errors.push_back(where + ": person_id '" + q.person_id + "' differs from its fact's '" +
                           f->person_id + "'");
        if (f->subset != q.subset)
          errors.push_back(where + ": subset " + subset_name(q.subset) +
                           " differs from its fact's " + subset_name(f->subset));
      }
      if (!q.person_id.empty() && !d.profile(q.person_id))
        errors.push_back(where + ": person_id '" + q.person_id + "' is not in " + files::profiles);
      // A benchmark that publishes no truth-ratio material says so in the manifest (MUSE, RWKU).
      bool needs_wrong = (name == files::sf || name == files::sr) && publishes_wrong_details;
      if (needs_wrong && !d.wrong_details_for(q.id))
        errors.push_back(where + ": no record in " + files::wrong_details);
    }
  }

  for (const auto& w : d.wrong_details) {
    std::string where = std::string(files::wrong_details) + ": qa_id '" + w.qa_id + "'";
    const QAPair* q = d.qa(w.qa_id);
    if (!q || (q->subset != Subset::forget && q->subset != Subset::correlated &&
               q->subset != Subset::other)) {
      errors.push_back(where + ": not an id in " + files::sf + " or " + files::sr);
      continue;
    }
    if (q->question != w.question || q->answer != w.answer || q->subset != w.subset)
      errors.push_back(where + ": question/answer/subset differ from the QA record");
  }

  for (const auto& p : d.forget_eval) {
    const QAPair* q = d.qa(p.qa_id);
    if (!q || q->subset != Subset::forget)
      errors.push_back(std::string(files::forget_eval) + ": id '" + p.id + "': qa_id '" + p.qa_id +
                       "' is not in " + files::sf);
  }
  return errors;
}

LoadResult load_dataset_collecting(const fs::path& dir) {
  LETHE_CHECK(fs::is_directory(dir), dir.string(), ": not a dataset folder (no such directory)");
  LoadResult result;
  Dataset& d = result.dataset;
  auto& errors = result.errors;
  d.dir = dir;
  d.profiles = read_records<Profile>(dir / files::profiles, &errors);
  d.facts = read_records<Fact>(dir / files::facts, &errors);
  d.sf = read_records<QAPair>(dir / files::sf, &errors);
  d.sr = read_records<QAPair>(dir / files::sr, &errors);
  d.wrong_details = read_records<WrongDetails>(dir / files::wrong_details, &errors);
  d.forget_eval = read_records<ForgetEvalProbe>(dir / files::forget_eval, &errors);
  d.world = read_records<QAPair>(dir / files::world, &errors);
  d.holdout = read_records<QAPair>(dir / files::holdout, &errors);
  // The corpus and manifest are optional (a dataset made by another tool may lack them).
  if (fs::exists(dir / files::corpus))
    d.corpus = read_records<CorpusDoc>(dir / files::corpus, &errors);
  d.manifest = json::object();
  if (fs::exists(dir / files::manifest)) {
    try {
      d.manifest = core::read_json(dir / files::manifest);
    } catch (const Error& e) {
      errors.push_back(e.what());
    }
  }
  d.index();
  for (auto& e : cross_check(d)) errors.push_back(std::move(e));
  return result;
}

Dataset load_dataset(const fs::path& dir) {
  LoadResult result = load_dataset_collecting(dir);
  if (!result.errors.empty()) {
    std::string more = result.errors.size() > 1
                           ? " (and " + std::to_string(result.errors.size() - 1) +
                                 " more problems; run `lethe data check` for all)"
                           : "";
    throw Error(result.errors.front() + more);
  }
  return std::move(result.dataset);
}

}  // namespace lethe::data
