// Checkpoints of the training loop: step-N folders written as one, `latest`, pruning, restore with
// the fingerprint check, and metrics.jsonl cut back to a checkpoint's step.
#include "train/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "io/safetensors.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string data_fingerprint(const TrainData& data) {
  std::ostringstream out;
  auto side = [&](const char* name, const std::vector<data::Example>& examples) {
    out << name << examples.size() << ';';
    for (const auto& e : examples) {
      for (size_t t = 0; t < e.ids.size(); ++t) out << e.ids[t] << (e.loss_mask[t] ? '+' : ',');
      out << ';';
    }
  };
  side("forget", data.forget);
  side("retain", data.retain);
  side("preferred", data.preferred);
  out << "pad" << data.pad_id;
  return core::sha256_hex(out.str());
}

// The options that change the trajectory (not the saving / logging ones).
std::string options_fingerprint(const TrainOptions& options, const NamedParameters& params) {
  json j = train_options_to_json(options);
  for (const char* key : {"save_every_steps", "save_epochs", "keep_checkpoints", "log_every"})
    j.erase(key);
  for (const auto& [name, p] : params) j["params"].push_back({name, p.sizes().vec()});
  return core::sha256_hex(j.dump());
}

fs::path step_dir(const fs::path& dir, int64_t step) {
  return dir / ("step-" + std::to_string(step));
}

}  // namespace

std::string run_fingerprint(const TrainOptions& options, const NamedParameters& trainable,
                            const TrainData& data) {
  return core::sha256_hex(options_fingerprint(options, trainable) + data_fingerprint(data));
}

void Checkpointer::save(const NamedParameters& trainable, const AdamW& optimizer,
                        const TrainerState& state, int64_t keep) const {
  json state_json = {{"step", state.step},
                     {"epoch", state.epoch},
                     {"micro", state.micro},
                     {"loss", state.loss},
                     {"total_steps", state.total_steps},
                     {"fingerprint", state.fingerprint},
                     {"format", "lethe-trainer-1"}};
  if (state.stop_step > 0) state_json["stop_step"] = state.stop_step;
  const fs::path final_dir = step_dir(dir_, state.step);
  core::write_dir_atomic(final_dir, [&](const fs::path& tmp) {
    io::StateDict weights;
    for (const auto& [name, p] : trainable) weights[name] = p.detach();
    io::write_safetensors(tmp / "trainable.safetensors", weights);
    io::write_safetensors(tmp / "optimizer.safetensors", optimizer.state_dict());
    core::write_json(tmp / "trainer_state.json", state_json);
  });
  core::write_file_atomic(dir_ / "latest", final_dir.filename().string() + "\n");

  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("step-", 0) == 0)
      found.emplace_back(std::stoll(name.substr(5)), entry.path());
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
}

std::optional<fs::path> Checkpointer::latest() const {
  if (!fs::exists(dir_ / "latest")) return std::nullopt;
  std::string name = core::read_file(dir_ / "latest");
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  LETHE_CHECK(name.rfind("step-", 0) == 0 && name.find('/') == std::string::npos,
              "cannot resume: ", (dir_ / "latest").string(), " is corrupt");
  return dir_ / name;
}

TrainerState Checkpointer::restore(const fs::path& from, const std::string& fingerprint,
                                   const NamedParameters& trainable, AdamW& optimizer) const {
  const std::string where = "cannot resume from " + from.string();
  TrainerState state;
  try {
    const json stored_state = core::read_json(from / "trainer_state.json");
    state.step = stored_state.at("step").get<int64_t>();
    state.epoch = stored_state.at("epoch").get<int64_t>();
    state.micro = stored_state.at("micro").get<int64_t>();
    state.loss = stored_state.value("loss", 0.0);
    state.stop_step = stored_state.value("stop_step", int64_t{0});
    state.fingerprint = stored_state.at("fingerprint").get<std::string>();
    LETHE_CHECK(state.fingerprint == fingerprint, where,
                ": it was made with other training options or data");
    auto stored = io::load_safetensors(from / "trainable.safetensors");
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : trainable) {
      auto it = stored.find(name);
      LETHE_CHECK(it != stored.end() && it->second.sizes() == p.sizes(), where,
                  ": trainable parameter '", name, "' missing or mis-shaped");
      p.copy_(it->second);
    }
    optimizer.load_state_dict(io::load_safetensors(from / "optimizer.safetensors"),
                              where + "/optimizer.safetensors");
    LETHE_CHECK(optimizer.step_count() == state.step, where, ": optimizer step ",
                optimizer.step_count(), " != trainer step ", state.step);
  } catch (const json::exception& e) {
    LETHE_FAIL(where, ": trainer_state.json is corrupt (", e.what(), ")");
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.rfind("cannot resume", 0) == 0) throw;
    LETHE_FAIL(where, ": ", message);
  }
  return state;
}

void truncate_metrics(const fs::path& path, int64_t last_step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > last_step) continue;
    kept += line + "\n";
  }
  core::write_file_atomic(path, kept);
}

}  // namespace lethe::train
