// Reads the result files of a run directory; every failure becomes a "missing" line, not an
// exception.
#include "report/results_reader.h"

#include <algorithm>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"

namespace lethe::report {

namespace fs = std::filesystem;

namespace {

// Reads one JSON file into `out`; records it as found, missing or unreadable.
bool try_read(RunResults& run, const fs::path& path, const std::string& purpose, json& out) {
  const std::string rel = fs::relative(path, run.run_dir).generic_string();
  if (!fs::exists(path)) {
    run.missing.push_back(rel + " (" + purpose + ")");
    return false;
  }
  try {
    out = core::read_json(path);
    run.found.push_back(rel);
    return true;
  } catch (const std::exception& e) {
    run.missing.push_back(rel + ": unreadable: " + e.what());
    out = nullptr;
    return false;
  }
}

const json* sweep_entry(const json& index, const std::string& name) {
  if (!index.is_object() || !index.contains("configs") || !index["configs"].is_array())
    return nullptr;
  for (const auto& c : index["configs"])
    if (c.is_object() && c.value("name", "") == name) return &c;
  return nullptr;
}

std::string classify_reference(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower.find("retain") != std::string::npos) return "retain_only";
  if (lower.find("finetun") != std::string::npos || lower == "full" || lower == "target")
    return "finetuned";
  if (lower == "base") return "base";
  return "";
}

}  // namespace

std::pair<std::string, std::string> split_model_name(const std::string& name) {
  std::string rest = name.rfind("unlearn_", 0) == 0 ? name.substr(8) : name;
  static const std::regex sweep_name(R"(^(.*?)_lr[^_]+(?:_.*)?_(ep\d+)$)");
  std::smatch m;
  if (std::regex_match(rest, m, sweep_name)) return {m[1].str(), m[2].str()};
  const size_t cut = rest.rfind('_');
  if (cut == std::string::npos) return {rest, ""};
  return {rest.substr(0, cut), rest.substr(cut + 1)};
}

int intensity_rank(const std::string& label) {
  static const std::vector<std::string> order = {"light", "low", "medium", "mid", "heavy", "high"};
  for (size_t i = 0; i < order.size(); ++i)
    if (label == order[i]) return static_cast<int>(i / 2);
  if (label.size() > 2 && label.rfind("ep", 0) == 0 &&
      std::isdigit(static_cast<unsigned char>(label[2])))
    return 100 + std::stoi(label.substr(2));
  return 10000;
}

RunResults read_run(const fs::path& run_dir) {
  LETHE_CHECK(fs::is_directory(run_dir), "report: run directory ", run_dir.string(),
              " does not exist or is not a folder");
  RunResults run;
  run.run_dir = run_dir;
  run.results_dir = fs::exists(run_dir / "results") || !fs::exists(run_dir / "eval_results.json")
                        ? run_dir / "results"
                        : run_dir;
  const fs::path& r = run.results_dir;
  try_read(run, r / "eval_results.json", "evaluation of every model: the summary table", run.eval);
  if (fs::exists(r / "sweep_index.json"))
    try_read(run, r / "sweep_index.json", "sweep configurations", run.sweep_index);
  else if (fs::exists(run_dir / "models" / "sweep_index.json"))
    try_read(run, run_dir / "models" / "sweep_index.json", "sweep configurations", run.sweep_index);
  else
    try_read(run, r / "sweep_results.json", "sweep configurations: methods and epochs",
             run.sweep_index);
  try_read(run, r / "quantize_results.json", "quantization recovery", run.quantize);
  try_read(run, r / "repr_results.json", "layer drift, logit lens and probe plots", run.repr);
  try_read(run, r / "retain_compare_results.json", "correlated vs other retain comparison",
           run.retain_compare);

  bool any_relearn = false;
  if (fs::is_directory(r)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(r)) {
      const std::string fname = e.path().filename().string();
      if (!e.is_regular_file()) continue;
      if (fname.rfind("relearn_results", 0) == 0 && e.path().extension() == ".json")
        files.push_back(e.path());
      static const std::regex layer_file(R"(^repr_results_(.+)\.json$)");
      std::smatch m;
      if (std::regex_match(fname, m, layer_file)) {
        json value;
        if (try_read(run, e.path(), "", value)) run.repr_layers.emplace_back(m[1].str(), value);
      }
    }
    // Layer files in layer order (layer_index, as repr_run.cpp writes it), then by name.
    std::stable_sort(run.repr_layers.begin(), run.repr_layers.end(), [](auto& a, auto& b) {
      const double ia = number_at(a.second, "layer_index").value_or(1e300),
                   ib = number_at(b.second, "layer_index").value_or(1e300);
      return ia != ib ? ia < ib : a.first < b.first;
    });
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      json value;
      if (!try_read(run, f, "", value)) continue;
      std::string label = value.is_object() ? value.value("set", "") : "";
      if (label.empty()) label = fs::relative(f, r).parent_path().generic_string();
      if (label.empty()) label = f.stem().string();
      run.relearn.emplace_back(label, value);
      any_relearn = true;
    }
  }
  if (!any_relearn)
    run.missing.push_back(fs::relative(r / "relearn_results.json", run_dir).generic_string() +
                          " (relearning curves)");

  for (const char* name : {"config.yaml", "config.json", "run_config.yaml"}) {
    if (fs::exists(run_dir / name)) {
      try {
        run.config_text = core::read_file(run_dir / name);
        run.found.push_back(name);
      } catch (const std::exception& e) {
        run.missing.push_back(std::string(name) + ": unreadable: " + e.what());
      }
      break;
    }
  }
  // Evaluation rows of the unlearning runs (lethe unlearn --eval-every); nothing is missing when a
  // run did not evaluate.
  if (fs::is_directory(r / "unlearn_metrics")) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(r / "unlearn_metrics"))
      if (e.is_regular_file() && e.path().extension() == ".jsonl") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      try {
        std::vector<json> rows;
        for (const auto& row : core::read_jsonl(f))
          if (row.is_object() && row.value(eval::schema::kRowKind, "") == eval::schema::kEvalRow)
            rows.push_back(row);
        if (!rows.empty()) run.training_evals.emplace_back(f.stem().string(), std::move(rows));
      } catch (const std::exception& e) {
        run.missing.push_back(fs::relative(f, run_dir).generic_string() +
                              ": unreadable: " + e.what());
      }
    }
  }
  for (const char* dir : {"data", "models"})
    if (!fs::is_directory(run_dir / dir)) run.missing.push_back(std::string(dir) + "/ (folder)");

  namespace k = eval::schema;
  if (const json* models = k::at(run.eval, {k::kModels}); models && models->is_object()) {
    for (const auto& [name, entry] : models->items()) {
      ModelInfo m;
      m.name = name;
      m.aggregates = k::at(entry, {k::kAggregates});
      m.per_example = k::at(entry, {k::kPerExample});
      m.method = classify_reference(name);
      if (const json* r = k::at(entry, {k::kRetainReference});
          r && r->is_boolean() && r->get<bool>())
        m.method = "retain_only";
      if (m.method.empty()) {
        const json* s = sweep_entry(run.sweep_index, name);
        if (!s) s = sweep_entry(run.sweep_index, "unlearn_" + name);
        auto [method, label] = split_model_name(name);
        m.method = s && (*s).contains("method") ? (*s)["method"].get<std::string>() : method;
        m.intensity = label;
        if (s && (*s).contains("epochs") && (*s)["epochs"].is_number())
          m.epochs = (*s)["epochs"].get<double>();
        if (!m.epochs && label.rfind("ep", 0) == 0 && label.size() > 2 &&
            std::isdigit(static_cast<unsigned char>(label[2])))
          m.epochs = std::stod(label.substr(2));
      }
      run.models.push_back(std::move(m));
    }
  }
  return run;
}

}  // namespace lethe::report
