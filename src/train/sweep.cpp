// Sweep grids: parsing, naming, grouping configs that share one constant-LR run, the status index
// rebuilt from per-config folders (safe with several shards writing), and the resumable driver.
#include "train/sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/error_message.h"
#include "core/json_io.h"
#include "objectives/objective.h"
#include "train/config_file.h"
#include "train/stop_criterion.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kIndexFile = "sweep_index.json";
constexpr const char* kStatusFile = "sweep_status.json";
constexpr const char* kRunningFile = "sweep_running.json";
constexpr const char* kRunsDir = ".sweep_runs";

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

std::vector<json> as_list(const json& value, const std::string& key, const std::string& where) {
  std::vector<json> items;
  if (value.is_array()) {
    for (const auto& v : value) items.push_back(v);
  } else {
    items.push_back(value);
  }
  LETHE_CHECK(!items.empty(), where, ": '", key, "' is an empty list");
  return items;
}

std::vector<double> number_list(const json& value, const std::string& key,
                                const std::string& where) {
  std::vector<double> out;
  for (const auto& v : as_list(value, key, where)) {
    LETHE_CHECK(v.is_number(), where, ": '", key, "' values must be numbers, got ", v.dump());
    const double d = v.get<double>();
    LETHE_CHECK(std::find(out.begin(), out.end(), d) == out.end(), where, ": '", key, "' lists ",
                v.dump(), " twice");
    out.push_back(d);
  }
  return out;
}

bool schedule_shares_epochs(const TrainOptions& o) {
  // Epoch N of a longer run equals an N-epoch run only when the LR does not depend on the length.
  return o.schedule.kind == ScheduleKind::constant && o.schedule.warmup_ratio == 0.0 &&
         o.max_steps == 0;
}

}  // namespace

std::string format_sweep_number(double value) {
  // The shortest text that reads back as `value`; scientific below 0.01 (1e-4, 2.5e-5).
  const bool scientific = value != 0.0 && std::fabs(value) < 0.01;
  std::string s;
  for (int precision = 0; precision <= 17; ++precision) {
    char text[64];
    std::snprintf(text, sizeof text, scientific ? "%.*e" : "%.*g", precision, value);
    s = text;
    if (std::strtod(text, nullptr) == value) break;
  }
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  std::string sign;
  if (exponent[0] == '-' || exponent[0] == '+') {
    if (exponent[0] == '-') sign = "-";
    exponent = exponent.substr(1);
  }
  while (exponent.size() > 1 && exponent[0] == '0') exponent = exponent.substr(1);
  return mantissa + "e" + sign + exponent;
}

std::vector<SweepConfig> SweepSpec::configs() const {
  std::vector<SweepConfig> all;
  for (const auto& g : groups) all.insert(all.end(), g.configs.begin(), g.configs.end());
  return all;
}

SweepSpec parse_sweep(const json& j, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": a sweep config must be a mapping");
  LETHE_CHECK(
      j.contains("methods") && j["methods"].is_object() && !j["methods"].empty(), where,
      ": 'methods' must be a mapping of method name -> grid (e.g. npo: {learning_rate: [1e-5],"
      " epochs: [5, 10], params: {beta: [0.1]}})");
  SweepSpec spec;
  json common = json::object();
  for (const auto& [key, value] : j.items()) {
    if (key == "methods") continue;
    if (key == "out") {
      LETHE_CHECK(value.is_string(), where, ": 'out' must be a string");
      spec.out = value.get<std::string>();
      continue;
    }
    LETHE_CHECK(key != "method" && key != "params" && key != "learning_rate" && key != "epochs" &&
                    key != "save_epochs",
                where, ": '", key, "' belongs inside methods.<name> (it is swept per method)");
    common[key] = value;
  }
  LETHE_CHECK(!spec.out.empty(), where,
              ": 'out' (the folder for the unlearn_* adapters) is missing");
  common["out"] = "";
  UnlearnConfig base = default_unlearn_config();
  unlearn_config_from_json(common, base, where);
  if (!base.train.stop_when.empty()) {
    try {
      StopCriterion::parse(base.train.stop_when, training_eval_keys());
    } catch (const UsageError& e) {
      throw UsageError(where + ": stop_when: " + e.what());
    }
  }

  std::set<std::string> names;
  for (const auto& [method, grid] : j["methods"].items()) {
    const std::string at = where + ": methods." + method;
    const auto& objective = objectives::find_objective(method);
    LETHE_CHECK(grid.is_object(), at, " must be a mapping (learning_rate, epochs, params)");
    std::vector<double> lrs = {base.train.schedule.lr};
    std::vector<int64_t> epochs = {base.train.epochs};
    std::vector<std::pair<std::string, std::vector<double>>> param_axes;
    json method_common = json::object();
    for (const auto& [key, value] : grid.items()) {
      if (key == "learning_rate" || key == "lr") {
        lrs = number_list(value, key, at);
      } else if (key == "epochs") {
        epochs.clear();
        for (double e : number_list(value, key, at)) {
          // (range first: casting a double beyond int64_t is undefined)
          LETHE_CHECK(e >= 1 && e <= 1e9 && e == std::floor(e), at,
                      ": 'epochs' must be positive integers (at most 1e9), got ", e);
          epochs.push_back(static_cast<int64_t>(e));
        }
      } else if (key == "params") {
        LETHE_CHECK(value.is_object(), at,
                    ": 'params' must be a mapping of name -> list of values");
        for (const auto& [p, values] : value.items()) {
          if (!objective.defaults.count(p)) {
            std::string valid;
            for (const auto& [k, v] : objective.defaults) valid += (valid.empty() ? "" : ", ") + k;
            throw UsageError(at + ": unknown parameter '" + p + "' for " + method +
                             " (valid: " + (valid.empty() ? "none" : valid) + ")");
          }
          param_axes.emplace_back(p, number_list(values, p, at + ".params"));
        }
      } else {
        method_common[key] = value;  // per-method override of a common key (batch_size, ...)
      }
    }
    std::sort(param_axes.begin(), param_axes.end());
    std::sort(epochs.begin(), epochs.end());
    epochs.erase(std::unique(epochs.begin(), epochs.end()), epochs.end());

    // Cartesian product of lr x params (in name order); epochs innermost.
    std::vector<std::map<std::string, double>> points = {{}};
    for (const auto& [p, values] : param_axes) {
      std::vector<std::map<std::string, double>> next;
      for (const auto& point : points)
        for (double v : values) {
          auto q = point;
          q[p] = v;
          next.push_back(q);
        }
      points = next;
    }
    for (double lr : lrs) {
      for (const auto& point : points) {
        UnlearnConfig config = base;
        unlearn_config_from_json(method_common, config, at);
        // A sweep's configurations are adapters (models/unlearn_*/, evaluated as such);
        // full-parameter runs write whole model folders: `lethe unlearn --parameters full`.
        LETHE_CHECK(config.parameters == "lora", at,
                    ": parameters: full is not supported in a sweep (its configurations are LoRA "
                    "adapters); run `lethe unlearn --parameters full` for one configuration");
        config.train.objective = method;
        config.train.schedule.lr = lr;
        for (const auto& [p, v] : point) config.train.objective_params[p] = v;
        const auto resolved = objectives::resolve_params(objective, config.train.objective_params);
        if (objective.check) objective.check(resolved);
        LETHE_CHECK(lr > 0, at, ": learning_rate must be positive, got ", lr);

        std::string stem = "unlearn_" + method + "_lr" + format_sweep_number(lr);
        for (const auto& [p, v] : point) stem += "_" + p + format_sweep_number(v);
        auto make_config = [&](int64_t e) {
          SweepConfig c;
          c.name = stem + "_ep" + std::to_string(e);
          c.method = method;
          c.learning_rate = lr;
          c.params = point;
          c.epochs = e;
          LETHE_CHECK(names.insert(c.name).second, at, ": configuration ", c.name,
                      " appears twice");
          return c;
        };
        if (schedule_shares_epochs(config.train)) {
          SweepGroup g{stem, config, {}};
          for (int64_t e : epochs) g.configs.push_back(make_config(e));
          g.config.train.epochs = epochs.back();
          g.config.train.save_epochs = epochs;
          for (auto& c : g.configs) c.group = g.name;
          spec.groups.push_back(g);
        } else {
          for (int64_t e : epochs) {
            SweepGroup g{stem + "_ep" + std::to_string(e), config, {make_config(e)}};
            g.config.train.epochs = e;
            g.config.train.save_epochs = {};
            g.configs[0].group = g.name;
            spec.groups.push_back(g);
          }
        }
      }
    }
  }
  return spec;
}

SweepSpec read_sweep_file(const fs::path& path) {
  return parse_sweep(read_config_file(path), path.string());
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  auto bad = [&]() {
    return UsageError("--shard '" + text + "' must be i/n with 0 <= i < n (e.g. 0/4)");
  };
  if (slash == std::string::npos) throw bad();
  Shard s;
  try {
    size_t used = 0;
    s.index = std::stoll(text.substr(0, slash), &used);
    if (used != slash) throw bad();
    const std::string n = text.substr(slash + 1);
    s.count = std::stoll(n, &used);
    if (used != n.size()) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) throw bad();
  return s;
}

bool in_shard(size_t group_index, const Shard& shard) {
  return static_cast<int64_t>(group_index % static_cast<size_t>(shard.count)) == shard.index;
}

TrainResult default_sweep_runner(const UnlearnConfig& config, const fs::path& run_dir,
                                 bool resume) {
  UnlearnConfig c = config;
  c.out = run_dir.string();
  return run_unlearn(c, resume);
}

std::string sweep_config_status(const SweepSpec& spec, const SweepConfig& config) {
  const fs::path status = spec.out / config.name / kStatusFile;
  if (fs::exists(status)) {
    try {
      const json s = core::read_json(status);
      const std::string value = s.value("status", "");
      if (value == "done" && fs::exists(spec.out / config.name / "adapter_model.safetensors"))
        return "done";
      if (value == "failed") return "failed";
    } catch (const std::exception&) {
      // a torn or foreign file: the config is not done
    }
  }
  if (fs::exists(spec.out / kRunsDir / config.group / kRunningFile)) return "running";
  return "pending";
}

json write_sweep_index(const SweepSpec& spec) {
  json index;
  index["out"] = spec.out.string();
  index["updated_at"] = now_iso();
  json configs = json::array();
  std::map<std::string, int64_t> counts;
  for (const auto& c : spec.configs()) {
    json entry;
    entry["name"] = c.name;
    entry["method"] = c.method;
    entry["learning_rate"] = c.learning_rate;
    entry["epochs"] = c.epochs;
    entry["params"] = json::object();
    for (const auto& [k, v] : c.params) entry["params"][k] = v;
    entry["group"] = c.group;
    entry["status"] = sweep_config_status(spec, c);
    entry["path"] = (spec.out / c.name).string();
    const fs::path status = spec.out / c.name / kStatusFile;
    if (entry["status"] == "done" || entry["status"] == "failed") {
      try {
        const json s = core::read_json(status);
        for (const char* key : {"finished_at", "error", "final_loss", "seconds", "stop_step"})
          if (s.contains(key)) entry[key] = s[key];
      } catch (const std::exception&) {
      }
    }
    ++counts[entry["status"].get<std::string>()];
    configs.push_back(entry);
  }
  index["counts"] = counts;
  index["configs"] = configs;
  fs::create_directories(spec.out);
  core::write_json(spec.out / kIndexFile, index);
  return index;
}

namespace {

// Copies one export folder into OUT/NAME as one folder (core::write_dir_atomic).
void publish_config(const SweepSpec& spec, const SweepGroup& group, const SweepConfig& config,
                    const fs::path& run_dir, const TrainResult& result) {
  const bool from_epoch =
      !group.config.train.save_epochs.empty() && config.epochs != group.config.train.epochs;
  // A run its stop criterion ended before this epoch: the config gets the stopped model.
  const fs::path epoch_dir = run_dir / ("epoch-" + std::to_string(config.epochs));
  const bool stopped_before = result.stop_step && !fs::exists(epoch_dir);
  const fs::path source = from_epoch && !stopped_before ? epoch_dir : run_dir;
  LETHE_CHECK(fs::exists(source / "adapter_model.safetensors"), "sweep: ", config.name, ": ",
              source.string(), " holds no adapter after training");
  const fs::path target = spec.out / config.name;
  core::write_dir_atomic(target, [&](const fs::path& tmp) {
    for (const char* file : {"adapter_config.json", "adapter_model.safetensors"})
      fs::copy_file(source / file, tmp / file);
    if (fs::exists(source / "forget_adapter"))
      fs::copy(source / "forget_adapter", tmp / "forget_adapter", fs::copy_options::recursive);
    // The run's metrics up to this epoch, and the config that reproduces it alone.
    std::vector<json> lines;
    if (fs::exists(run_dir / "metrics.jsonl"))
      for (const auto& line : core::read_jsonl(run_dir / "metrics.jsonl"))
        if (!line.contains("epoch") || line["epoch"].get<double>() <= config.epochs + 1e-9)
          lines.push_back(line);
    core::write_jsonl(tmp / "metrics.jsonl", lines);
    double final_loss = result.final_loss;
    for (const auto& line : lines)
      if (!is_eval_row(line)) final_loss = line.value("loss", 0.0);
    UnlearnConfig alone = group.config;
    alone.train.epochs = config.epochs;
    alone.train.save_epochs = {};
    alone.out = target.string();
    write_config_file(tmp / "config.yaml", unlearn_config_to_json(alone));
    json status = {{"status", "done"},          {"name", config.name},
                   {"finished_at", now_iso()},  {"final_loss", final_loss},
                   {"seconds", result.seconds}, {"from_run", group.name}};
    if (!group.config.train.stop_when.empty()) {
      status["stop_when"] = group.config.train.stop_when;
      status["stop_step"] = result.stop_step ? json(*result.stop_step) : json(nullptr);
      status["stopped_before_epoch"] = stopped_before;
    }
    core::write_json(tmp / kStatusFile, status);
  });
}

void mark_failed(const SweepSpec& spec, const SweepConfig& config, const std::string& error) {
  const fs::path dir = spec.out / config.name;
  fs::create_directories(dir);
  fs::remove(dir / "adapter_model.safetensors");
  core::write_json(
      dir / kStatusFile,
      {{"status", "failed"}, {"name", config.name}, {"finished_at", now_iso()}, {"error", error}});
}

}  // namespace

SweepSummary run_sweep(const SweepSpec& spec, const Shard& shard, const SweepRunner& runner) {
  SweepSummary summary;
  fs::create_directories(spec.out);
  write_sweep_index(spec);
  for (size_t gi = 0; gi < spec.groups.size(); ++gi) {
    const auto& group = spec.groups[gi];
    if (!in_shard(gi, shard)) {
      summary.other_shards += static_cast<int64_t>(group.configs.size());
      continue;
    }
    std::vector<const SweepConfig*> todo;
    for (const auto& c : group.configs) {
      if (sweep_config_status(spec, c) == "done") {
        ++summary.skipped;
      } else {
        todo.push_back(&c);
      }
    }
    const fs::path run_dir = spec.out / kRunsDir / group.name;
    if (todo.empty()) {
      // Killed after publishing its configs but before the cleanup: the run folder is garbage.
      std::error_code ec;
      fs::remove_all(run_dir, ec);
      continue;
    }
    // A resumable checkpoint continues; partial files without one (killed early) start over.
    bool resume = fs::exists(run_dir / "checkpoints" / "latest");
    if (!resume) fs::remove_all(run_dir);
    fs::create_directories(run_dir);
    core::write_json(run_dir / kRunningFile,
                     {{"group", group.name},
                      {"started_at", now_iso()},
                      {"shard", std::to_string(shard.index) + "/" + std::to_string(shard.count)}});
    write_sweep_index(spec);
    try {
      TrainResult result;
      try {
        result = runner(group.config, run_dir, resume);
      } catch (const Error&) {
        if (!resume) throw;
        // The checkpoint could not be resumed (other options, corrupt): train from scratch.
        fs::remove_all(run_dir);
        fs::create_directories(run_dir);
        result = runner(group.config, run_dir, false);
      }
      LETHE_CHECK(result.completed, "sweep: ", group.name, " stopped before its last step");
      for (const auto* c : todo) publish_config(spec, group, *c, run_dir, result);
      summary.done += static_cast<int64_t>(todo.size());
      fs::remove_all(
          run_dir);  // the adapters now live in OUT/NAME; checkpoints are no longer needed
    } catch (const std::exception& e) {
      const std::string error = core::error_message(e);
      for (const auto* c : todo) mark_failed(spec, *c, error);
      summary.failed += static_cast<int64_t>(todo.size());
      fs::remove(run_dir / kRunningFile);
      std::fprintf(stderr, "sweep: %s failed: %s\n", group.name.c_str(), error.c_str());
    }
    write_sweep_index(spec);
  }
  return summary;
}

}  // namespace lethe::train
