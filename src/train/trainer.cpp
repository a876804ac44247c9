// The one training loop: batches -> per-side token log-probs -> objective -> AdamW, with cached
// reference log-probs, metrics.jsonl, atomic checkpoints and bit-identical resume.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "io/safetensors.h"
#include "model/lora.h"
#include "objectives/methods.h"
#include "train/autocast.h"
#include "train/distributed.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

std::string reference_model_name(ReferenceModel reference) {
  return reference == ReferenceModel::initial ? "initial" : "adapter_disabled";
}

ReferenceModel parse_reference_model(const std::string& name) {
  if (name == "initial") return ReferenceModel::initial;
  if (name == "adapter_disabled") return ReferenceModel::adapter_disabled;
  throw UsageError("unknown reference model '" + name + "' (valid: initial, adapter_disabled)");
}

json train_options_to_json(const TrainOptions& o) {
  json j;
  j["objective"] = o.objective;
  j["objective_params"] = json::object();
  for (const auto& [k, v] : o.objective_params) j["objective_params"][k] = v;
  j["reference"] = reference_model_name(o.reference);
  j["learning_rate"] = o.schedule.lr;
  j["lr_scheduler"] = schedule_name(o.schedule.kind);
  j["warmup_steps"] = o.schedule.warmup_steps;
  j["warmup_ratio"] = o.schedule.warmup_ratio;
  j["min_lr_ratio"] = o.schedule.min_lr_ratio;
  j["weight_decay"] = o.adamw.weight_decay;
  j["adam_beta1"] = o.adamw.beta1;
  j["adam_beta2"] = o.adamw.beta2;
  j["adam_epsilon"] = o.adamw.eps;
  j["epochs"] = o.epochs;
  j["max_steps"] = o.max_steps;
  j["batch_size"] = o.batch_size;
  j["grad_accum"] = o.grad_accum;
  j["max_grad_norm"] = o.max_grad_norm;
  j["group_by_length"] = o.group_by_length;
  j["autocast"] = o.autocast;
  j["seed"] = o.seed;
  j["trainable_layers"] = o.trainable_layers;
  j["save_every_steps"] = o.save_every_steps;
  j["save_epochs"] = o.save_epochs;
  j["keep_checkpoints"] = o.keep_checkpoints;
  j["log_every"] = o.log_every;
  return j;
}

namespace {

template <typename T>
T get_as(const json& j, const std::string& key, const std::string& where) {
  try {
    if constexpr (std::is_same_v<T, bool>) {
      LETHE_CHECK(j.is_boolean(), where, ": '", key, "' must be true or false, got ", j.dump());
      return j.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      LETHE_CHECK(j.is_number_integer() ||
                      (j.is_number() && std::floor(j.get<double>()) == j.get<double>()),
                  where, ": '", key, "' must be an integer, got ", j.dump());
      if constexpr (std::is_unsigned_v<T>) {
        LETHE_CHECK(j.get<double>() >= 0, where, ": '", key, "' must be >= 0, got ", j.dump());
      }
      return static_cast<T>(j.get<double>());
    } else if constexpr (std::is_floating_point_v<T>) {
      LETHE_CHECK(j.is_number(), where, ": '", key, "' must be a number, got ", j.dump());
      return j.get<double>();
    } else {
      LETHE_CHECK(j.is_string(), where, ": '", key, "' must be a string, got ", j.dump());
      return j.get<std::string>();
    }
  } catch (const json::exception& e) {
    LETHE_FAIL(where, ": '", key, "': ", e.what());
  }
}

std::vector<int64_t> int_list(const json& j, const std::string& key, const std::string& where) {
  std::vector<int64_t> values;
  if (j.is_number()) return {get_as<int64_t>(j, key, where)};
  LETHE_CHECK(j.is_array(), where, ": '", key, "' must be a list of integers, got ", j.dump());
  for (const auto& item : j) values.push_back(get_as<int64_t>(item, key, where));
  return values;
}

}  // namespace

void train_options_from_json(const json& j, TrainOptions& o, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": training options must be a mapping");
  for (const auto& [key, value] : j.items()) {
    if (key == "objective")
      o.objective = get_as<std::string>(value, key, where);
    else if (key == "objective_params") {
      LETHE_CHECK(value.is_object(), where, ": 'objective_params' must be a mapping");
      for (const auto& [k, v] : value.items()) o.objective_params[k] = get_as<double>(v, k, where);
    } else if (key == "reference")
      o.reference = parse_reference_model(get_as<std::string>(value, key, where));
    else if (key == "learning_rate")
      o.schedule.lr = get_as<double>(value, key, where);
    else if (key == "lr_scheduler")
      o.schedule.kind = parse_schedule(get_as<std::string>(value, key, where));
    else if (key == "warmup_steps")
      o.schedule.warmup_steps = get_as<int64_t>(value, key, where);
    else if (key == "warmup_ratio")
      o.schedule.warmup_ratio = get_as<double>(value, key, where);
    else if (key == "min_lr_ratio")
      o.schedule.min_lr_ratio = get_as<double>(value, key, where);
    else if (key == "weight_decay")
      o.adamw.weight_decay = get_as<double>(value, key, where);
    else if (key == "adam_beta1")
      o.adamw.beta1 = get_as<double>(value, key, where);
    else if (key == "adam_beta2")
      o.adamw.beta2 = get_as<double>(value, key, where);
    else if (key == "adam_epsilon")
      o.adamw.eps = get_as<double>(value, key, where);
    else if (key == "epochs")
      o.epochs = get_as<int64_t>(value, key, where);
    else if (key == "max_steps")
      o.max_steps = get_as<int64_t>(value, key, where);
    else if (key == "batch_size")
      o.batch_size = get_as<int64_t>(value, key, where);
    else if (key == "grad_accum")
      o.grad_accum = get_as<int64_t>(value, key, where);
    else if (key == "max_grad_norm")
      o.max_grad_norm = get_as<double>(value, key, where);
    else if (key == "group_by_length")
      o.group_by_length = get_as<bool>(value, key, where);
    else if (key == "seed")
      o.seed = get_as<uint64_t>(value, key, where);
    else if (key == "autocast") {
      o.autocast = get_as<std::string>(value, key, where);
      parse_autocast(o.autocast);
    } else if (key == "trainable_layers")
      o.trainable_layers = int_list(value, key, where);
    else if (key == "save_every_steps")
      o.save_every_steps = get_as<int64_t>(value, key, where);
    else if (key == "save_epochs")
      o.save_epochs = int_list(value, key, where);
    else if (key == "keep_checkpoints")
      o.keep_checkpoints = get_as<int64_t>(value, key, where);
    else if (key == "log_every")
      o.log_every = get_as<int64_t>(value, key, where);
    else
      LETHE_FAIL(where, ": unknown training option '", key, "'");
  }
  LETHE_CHECK(std::isfinite(o.schedule.lr) && o.schedule.lr > 0, where,
              ": learning_rate must be positive, got ", o.schedule.lr);
  LETHE_CHECK(o.epochs > 0 || o.max_steps > 0, where, ": epochs must be positive, got ", o.epochs);
  LETHE_CHECK(o.max_steps >= 0, where, ": max_steps must be >= 0, got ", o.max_steps);
  LETHE_CHECK(o.batch_size > 0, where, ": batch_size must be positive, got ", o.batch_size);
  LETHE_CHECK(o.grad_accum > 0, where, ": grad_accum must be positive, got ", o.grad_accum);
  LETHE_CHECK(o.save_every_steps >= 0, where, ": save_every_steps must be >= 0");
  LETHE_CHECK(o.keep_checkpoints >= 1, where, ": keep_checkpoints must be >= 1");
  LETHE_CHECK(o.log_every >= 1, where, ": log_every must be >= 1");
  for (auto e : o.save_epochs) LETHE_CHECK(e >= 1, where, ": save_epochs must be >= 1, got ", e);
}

bool has_training_run(const fs::path& out_dir) {
  return fs::exists(out_dir / "metrics.jsonl") || fs::exists(out_dir / "checkpoints");
}

namespace {

// Per-example reference token log-probs (index t as in the example's ids; 0 where not scored).
struct ReferenceCache {
  std::vector<torch::Tensor> forget, retain, preferred;  // each [len_i] fp32
  std::map<std::string, torch::Tensor> initial;          // trainable params before the first update
};

int64_t layer_of(const std::string& name) {
  const std::string marker = "layers.";
  const auto pos = name.find(marker);
  if (pos == std::string::npos) return -1;
  return std::stoll(name.substr(pos + marker.size()));
}

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

// Token log-probs of every example of one side, no grad, in batches (the reference pass). With a
// process group each rank scores its share of the examples and one all-reduce assembles them.
std::vector<torch::Tensor> reference_logprobs(model::CausalLM& model,
                                              const std::vector<data::Example>& examples,
                                              int64_t batch_size, int64_t pad_id,
                                              ProcessGroup* group) {
  if (group && group->world_size() > 1) {
    const auto [begin, end] =
        rank_slice(static_cast<int64_t>(examples.size()), group->rank(), group->world_size());
    const std::vector<data::Example> mine(examples.begin() + begin, examples.begin() + end);
    const auto scored = mine.empty() ? std::vector<torch::Tensor>()
                                     : reference_logprobs(model, mine, batch_size, pad_id, nullptr);
    std::vector<int64_t> offsets = {0};
    for (const auto& e : examples) offsets.push_back(offsets.back() + e.length());
    std::vector<torch::Tensor> flat = {torch::zeros({offsets.back()}, torch::kFloat32)};
    for (int64_t i = begin; i < end; ++i)
      flat[0].narrow(0, offsets[i], examples[i].length()).copy_(scored[i - begin]);
    group->all_reduce_sum(flat);
    std::vector<torch::Tensor> result;
    for (size_t i = 0; i < examples.size(); ++i)
      result.push_back(flat[0].narrow(0, offsets[i], examples[i].length()).clone());
    return result;
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> result(examples.size());
  std::vector<int64_t> lengths;
  for (const auto& e : examples) lengths.push_back(e.length());
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = batch_size;
  plan_options.shuffle = false;
  for (const auto& indices : data::plan_epoch(lengths, plan_options, 0, 0)) {
    auto batch = data::collate(examples, indices, pad_id);
    const auto device = model->parameters().front().device();
    auto logp = model::token_logprobs(model, batch.ids.to(device), batch.attention_mask.to(device),
                                      batch.loss_mask.to(device))
                    .to(torch::kCPU);  // [B, T]
    for (size_t b = 0; b < indices.size(); ++b)
      result[indices[b]] = logp[b].narrow(0, 0, examples[indices[b]].length()).clone();
  }
  return result;
}

// [B, T] token log-probs of a batch assembled from the cache.
torch::Tensor gather_reference(const std::vector<torch::Tensor>& cache, const data::Batch& batch) {
  torch::Tensor out = torch::zeros(batch.ids.sizes(), torch::kFloat32);
  for (int64_t b = 0; b < batch.size(); ++b) {
    const auto& row = cache.at(batch.indices[b]);
    out[b].narrow(0, 0, row.size(0)).copy_(row);
  }
  return out;
}

// Data parallel: this rank's rows [begin, end) of a batch, collated alone (unset when empty).
struct RankRows {
  int64_t begin = 0, end = 0;
  std::optional<data::Batch> local;
};

RankRows rank_rows(const data::Batch& batch, const std::vector<data::Example>& examples,
                   int64_t pad_id, const ProcessGroup& group) {
  RankRows rows;
  std::tie(rows.begin, rows.end) = rank_slice(batch.size(), group.rank(), group.world_size());
  if (rows.end > rows.begin)
    rows.local = data::collate(
        examples,
        std::vector<int64_t>(batch.indices.begin() + rows.begin, batch.indices.begin() + rows.end),
        pad_id);
  return rows;
}

// [b, t, ...] -> [b, T, ...], zero-padded along the token axis (differentiable).
torch::Tensor pad_tokens(const torch::Tensor& x, int64_t T) {
  if (x.size(1) == T) return x;
  auto shape = x.sizes().vec();
  shape[1] = T - x.size(1);
  return torch::cat({x, torch::zeros(shape, x.options().requires_grad(false))}, 1);
}

void swap_params(const NamedParameters& params, std::map<std::string, torch::Tensor>& other) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    auto& stored = other.at(name);
    torch::Tensor current = p.detach().clone();
    p.copy_(stored);
    stored = current;
  }
}

struct Checkpointer {
  fs::path dir;  // out_dir/checkpoints

  fs::path step_dir(int64_t step) const { return dir / ("step-" + std::to_string(step)); }

  void save(const NamedParameters& params, const AdamW& optimizer, const json& state) const {
    const int64_t step = state.at("step").get<int64_t>();
    const fs::path final_dir = step_dir(step);
    const fs::path tmp = dir / (".step-" + std::to_string(step) + ".tmp");
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    io::StateDict trainable;
    for (const auto& [name, p] : params) trainable[name] = p.detach();
    io::write_safetensors(tmp / "trainable.safetensors", trainable);
    io::write_safetensors(tmp / "optimizer.safetensors", optimizer.state_dict());
    core::write_json(tmp / "trainer_state.json", state);
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);
    core::write_file_atomic(dir / "latest", final_dir.filename().string() + "\n");
  }

  void prune(int64_t keep) const {
    std::vector<std::pair<int64_t, fs::path>> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("step-", 0) == 0)
        found.emplace_back(std::stoll(name.substr(5)), entry.path());
    }
    std::sort(found.begin(), found.end());
    for (size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
  }

  std::optional<fs::path> latest() const {
    if (!fs::exists(dir / "latest")) return std::nullopt;
    std::string name = core::read_file(dir / "latest");
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    LETHE_CHECK(name.rfind("step-", 0) == 0 && name.find('/') == std::string::npos,
                "cannot resume: ", (dir / "latest").string(), " is corrupt");
    return dir / name;
  }
};

void write_dir_atomic(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write(tmp);
  fs::remove_all(target);
  fs::rename(tmp, target);
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

std::string format_status(int64_t epoch, int64_t epochs, double loss, double tokens_per_s) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(4);
  out << "epoch " << epoch << "/" << epochs << " loss " << loss;
  out.precision(0);
  out << " tok/s " << tokens_per_s;
  return out.str();
}

}  // namespace

TrainResult train(model::CausalLM& model, TrainTarget target, const TrainData& data,
                  const TrainOptions& options, const fs::path& out_dir, bool resume,
                  ProcessGroup* group) {
  using clock = std::chrono::steady_clock;
  const auto t_start = clock::now();
  const objectives::ObjectiveSpec& spec = objectives::find_objective(options.objective);
  const objectives::ObjectiveParams params =
      objectives::resolve_params(spec, options.objective_params);
  const bool use_retain = objectives::requires_retain(spec, params);
  const bool use_preferred = spec.needs_preferred;
  const bool use_hidden = spec.needs_hidden_states;
  // Data parallel: every rank runs this same loop on the same batches, forwards its rows of each,
  // gathers the other ranks' log-probs (constants) and evaluates the objective on the whole batch;
  // the sum of the ranks' gradients is then the whole batch's gradient for any objective. Only
  // rank 0 writes files.
  const bool parallel = group && group->world_size() > 1;
  const bool writer = !group || group->rank() == 0;

  // ---- inputs checked before anything is written
  LETHE_CHECK(!data.forget.empty(), options.objective, ": the ",
              options.objective == "sft" ? "training" : "forget", " set is empty");
  LETHE_CHECK(!use_retain || !data.retain.empty(), options.objective,
              " needs a retain set, but none was given");
  LETHE_CHECK(!use_preferred || data.preferred.size() == data.forget.size(), options.objective,
              " needs one preferred answer per forget example (", data.preferred.size(), " for ",
              data.forget.size(), ")");
  auto check_examples = [](const std::vector<data::Example>& examples, const char* side) {
    for (size_t i = 0; i < examples.size(); ++i) {
      LETHE_CHECK(
          examples[i].ids.size() == examples[i].loss_mask.size() && examples[i].length() >= 2, side,
          " example ", i, " is shorter than 2 tokens");
      int64_t scored = 0;
      for (size_t t = 1; t < examples[i].loss_mask.size(); ++t) scored += examples[i].loss_mask[t];
      LETHE_CHECK(scored > 0, side, " example ", i, " has no answer tokens to train on");
    }
  };
  check_examples(data.forget, "forget");
  if (use_retain) check_examples(data.retain, "retain");
  if (use_preferred) check_examples(data.preferred, "preferred");
  {
    LrSchedule check_lr(options.schedule, 1);  // validates lr and ratios
    (void)check_lr;
  }
  LETHE_CHECK(options.batch_size > 0 && options.grad_accum > 0,
              "batch_size and grad_accum must be positive");

  // ---- trainable parameters (RMU: only its layers)
  std::vector<int64_t> layers = options.trainable_layers;
  if (layers.empty() && spec.name == "rmu") layers = objectives::rmu_updated_layers(params);
  NamedParameters trainable;
  std::vector<torch::Tensor> frozen_here;
  for (const auto& [name, p] : target.params) {
    const bool keep =
        layers.empty() || std::find(layers.begin(), layers.end(), layer_of(name)) != layers.end();
    if (keep) {
      trainable.emplace_back(name, p);
    } else if (p.requires_grad()) {
      p.set_requires_grad(false);
      frozen_here.push_back(p);
    }
  }
  LETHE_CHECK(!trainable.empty(), "no trainable parameters (trainable_layers selects none)");
  struct Unfreeze {
    std::vector<torch::Tensor>& list;
    ~Unfreeze() {
      for (auto& p : list) p.set_requires_grad(true);
    }
  } unfreeze{frozen_here};

  // ---- the plan
  std::vector<int64_t> forget_lengths, retain_lengths;
  for (const auto& e : data.forget) forget_lengths.push_back(e.length());
  for (const auto& e : data.retain) retain_lengths.push_back(e.length());
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = options.batch_size;
  plan_options.group_by_length = options.group_by_length;
  const int64_t micro_per_epoch =
      static_cast<int64_t>(data::plan_epoch(forget_lengths, plan_options, options.seed, 0).size());
  const int64_t steps_per_epoch = (micro_per_epoch + options.grad_accum - 1) / options.grad_accum;
  const int64_t total_steps =
      options.max_steps > 0 ? options.max_steps : steps_per_epoch * options.epochs;
  const int64_t epochs = options.max_steps > 0
                             ? (options.max_steps + steps_per_epoch - 1) / steps_per_epoch
                             : options.epochs;
  LrSchedule schedule(options.schedule, total_steps);
  AdamW optimizer(trainable, options.adamw);
  const std::string fingerprint =
      core::sha256_hex(options_fingerprint(options, trainable) + data_fingerprint(data));
  const auto device = model->parameters().front().device();
  const auto autocast_dtype = parse_autocast(options.autocast);
  // The hidden-state entries the objective reads (decoder layer l is entry l + 1).
  std::vector<int64_t> hidden_entries;
  if (use_hidden) {
    const int64_t n_entries = model->config().num_hidden_layers + 1;
    if (spec.hidden_layers) {
      for (int64_t l : spec.hidden_layers(params))
        if (l >= 0 && l + 1 < n_entries) hidden_entries.push_back(l + 1);
    } else {
      for (int64_t e = 0; e < n_entries; ++e) hidden_entries.push_back(e);
    }
  }

  // ---- output folder: fresh or resumed
  Checkpointer checkpoints{out_dir / "checkpoints"};
  const fs::path metrics_path = out_dir / "metrics.jsonl";
  const fs::path reference_path = checkpoints.dir / "reference.safetensors";
  std::optional<fs::path> resume_from;
  if (resume) {
    resume_from = checkpoints.latest();
  } else {
    LETHE_CHECK(!has_training_run(out_dir), out_dir.string(),
                " already holds a training run (metrics.jsonl or checkpoints/); use --resume to "
                "continue it or choose another output folder");
  }
  int64_t step = 0, epoch = 0, micro = 0;  // micro: next micro-batch of `epoch`
  double last_loss = 0.0;
  if (resume_from) {
    const std::string where = "cannot resume from " + resume_from->string();
    json state;
    try {
      state = core::read_json(*resume_from / "trainer_state.json");
      step = state.at("step").get<int64_t>();
      epoch = state.at("epoch").get<int64_t>();
      micro = state.at("micro").get<int64_t>();
      last_loss = state.value("loss", 0.0);
      LETHE_CHECK(state.at("fingerprint").get<std::string>() == fingerprint, where,
                  ": it was made with other training options or data");
      auto stored = io::load_safetensors(*resume_from / "trainable.safetensors");
      torch::NoGradGuard no_grad;
      for (const auto& [name, p] : trainable) {
        auto it = stored.find(name);
        LETHE_CHECK(it != stored.end() && it->second.sizes() == p.sizes(), where,
                    ": trainable parameter '", name, "' missing or mis-shaped");
        p.copy_(it->second);
      }
      optimizer.load_state_dict(io::load_safetensors(*resume_from / "optimizer.safetensors"),
                                where + "/optimizer.safetensors");
      LETHE_CHECK(optimizer.step_count() == step, where, ": optimizer step ",
                  optimizer.step_count(), " != trainer step ", step);
    } catch (const json::exception& e) {
      LETHE_FAIL(where, ": trainer_state.json is corrupt (", e.what(), ")");
    } catch (const Error& e) {
      const std::string message = e.what();
      if (message.rfind("cannot resume", 0) == 0) throw;
      LETHE_FAIL(where, ": ", message);
    }
  }
  if (parallel) {
    // Also the barrier before rank 0 writes anything: every rank has checked the folder.
    double checksum = 0.0;
    for (const auto& [name, p] : trainable)
      checksum += p.detach().to(torch::kFloat64).sum().item<double>();
    check_same_across_ranks(
        *group, {{"options and data fingerprint",
                  static_cast<double>(std::stoull(fingerprint.substr(0, 10), nullptr, 16))},
                 {"resumed step", static_cast<double>(step)},
                 {"trainable parameter checksum", checksum}});
  }
  if (writer && resume_from) {
    truncate_metrics(metrics_path, step);
  } else if (writer) {
    fs::create_directories(checkpoints.dir);
    if (fs::exists(metrics_path)) fs::remove(metrics_path);  // a resume that found no checkpoint
  }

  // ---- reference log-probs (cached once, before any update) and the initial weights for
  // hidden_ref
  ReferenceCache reference;
  const bool needs_initial_weights = use_hidden && options.reference == ReferenceModel::initial;
  if (spec.needs_reference || needs_initial_weights) {
    if (fs::exists(reference_path) && resume_from) {
      auto stored = io::load_safetensors(reference_path);
      auto unpack = [&](const char* side, const std::vector<data::Example>& examples,
                        std::vector<torch::Tensor>& into) {
        if (!stored.count(side)) return;
        auto flat = stored.at(side);
        int64_t offset = 0;
        for (const auto& e : examples) {
          LETHE_CHECK(offset + e.length() <= flat.size(0),
                      "cannot resume: ", reference_path.string(), " does not match the data");
          into.push_back(flat.narrow(0, offset, e.length()).clone());
          offset += e.length();
        }
      };
      unpack("forget", data.forget, reference.forget);
      unpack("retain", data.retain, reference.retain);
      unpack("preferred", data.preferred, reference.preferred);
      for (const auto& [name, p] : trainable)
        if (stored.count("initial." + name))
          reference.initial[name] = stored.at("initial." + name).to(p.device());
    } else {
      LETHE_CHECK(!resume_from, "cannot resume: ", reference_path.string(), " is missing");
      io::StateDict to_store;
      if (spec.needs_reference) {
        model->eval();
        std::optional<model::LoraDisabledScope> disabled;
        if (options.reference == ReferenceModel::adapter_disabled) disabled.emplace(model);
        auto pack = [&](const char* side, const std::vector<data::Example>& examples,
                        std::vector<torch::Tensor>& into) {
          into = reference_logprobs(model, examples, options.batch_size, data.pad_id, group);
          to_store[side] = torch::cat(into);
        };
        pack("forget", data.forget, reference.forget);
        if (use_retain) pack("retain", data.retain, reference.retain);
        if (use_preferred) pack("preferred", data.preferred, reference.preferred);
      }
      if (needs_initial_weights) {
        for (const auto& [name, p] : trainable) {
          reference.initial[name] = p.detach().clone();
          to_store["initial." + name] = reference.initial[name];
        }
      }
      if (writer) io::write_safetensors(reference_path, to_store);
    }
  }

  // ---- the loop
  const int64_t epochs_total = epochs;
  const bool done_already = step >= total_steps;
  core::Progress progress(options.label, total_steps);
  progress.update(step, done_already ? "done" : "");
  model->train();
  int64_t steps_this_run = 0;
  int64_t tokens_this_run = 0;
  bool stopped = false;
  auto save_state = [&](int64_t next_epoch, int64_t next_micro) {
    json state = {{"step", step},
                  {"epoch", next_epoch},
                  {"micro", next_micro},
                  {"loss", last_loss},
                  {"total_steps", total_steps},
                  {"fingerprint", fingerprint},
                  {"format", "lethe-trainer-1"}};
    if (!writer) return;
    checkpoints.save(trainable, optimizer, state);
    checkpoints.prune(options.keep_checkpoints);
  };

  data::BatchPlanOptions retain_plan_options = plan_options;
  // Hidden states of the reference model (no grad, eval mode) for one batch.
  auto frozen_hidden = [&](const data::Batch& batch) {
    torch::NoGradGuard no_grad;
    model->eval();
    model::ForwardOptions forward;
    forward.attention_mask = batch.attention_mask.to(device);
    forward.output_hidden_states = true;
    forward.compute_logits = false;
    std::vector<torch::Tensor> hidden;
    if (options.reference == ReferenceModel::adapter_disabled) {
      model::LoraDisabledScope disabled(model);
      hidden = model->forward(batch.ids.to(device), forward).hidden_states;
    } else {
      swap_params(trainable, reference.initial);
      hidden = model->forward(batch.ids.to(device), forward).hidden_states;
      swap_params(trainable, reference.initial);
    }
    model->train();
    return hidden;
  };
  // The same for the whole batch; data parallel: this rank's rows, the entries the objective reads
  // gathered from every rank.
  auto reference_hidden = [&](const data::Batch& batch,
                              const std::vector<data::Example>& examples) {
    if (!parallel) return frozen_hidden(batch);
    const RankRows rows = rank_rows(batch, examples, data.pad_id, *group);
    const int64_t T = batch.ids.size(1);
    std::vector<torch::Tensor> local;
    std::vector<torch::Tensor> hidden;
    if (rows.local) hidden = frozen_hidden(*rows.local);
    for (int64_t e : hidden_entries)
      local.push_back(rows.local ? pad_tokens(hidden.at(e), T)
                                 : torch::zeros({0, T, model->config().hidden_size},
                                                model->parameters().front().options()));
    auto whole = gather_rows(*group, local, rows.begin, batch.size());
    std::vector<torch::Tensor> entries(model->config().num_hidden_layers + 1);
    for (size_t i = 0; i < hidden_entries.size(); ++i) entries[hidden_entries[i]] = whole[i];
    return entries;
  };
  while (!done_already && epoch < epochs_total && step < total_steps && !stopped) {
    const auto plan = data::plan_epoch(forget_lengths, plan_options, options.seed, epoch);
    std::vector<std::vector<int64_t>> retain_plan;
    if (use_retain)
      retain_plan = data::plan_epoch(retain_lengths, retain_plan_options,
                                     data::derive_seed(options.seed, 2, 0), epoch);
    const int64_t n_micro = static_cast<int64_t>(plan.size());
    while (micro < n_micro && step < total_steps && !stopped) {
      const auto t_step = clock::now();
      const int64_t group_start = micro - micro % options.grad_accum;
      const int64_t group_end = std::min(n_micro, group_start + options.grad_accum);
      const double group_size = static_cast<double>(group_end - group_start);
      for (auto& [name, p] : trainable) p.mutable_grad() = torch::Tensor();
      double loss_sum = 0.0;
      std::map<std::string, double> parts_sum;
      int64_t tokens = 0;
      for (; micro < group_end; ++micro) {
        // Dropout draws from the global generator, seeded per micro-batch so a resumed run matches
        // (and per rank: the ranks' rows get independent masks).
        const uint64_t micro_seed =
            data::derive_seed(options.seed, 3, static_cast<uint64_t>(epoch * n_micro + micro));
        torch::manual_seed(parallel && group->rank() > 0
                               ? data::derive_seed(micro_seed, 4, group->rank())
                               : micro_seed);
        objectives::ObjectiveInputs inputs;
        auto to_side = [&](const data::Batch& batch, const std::vector<data::Example>& examples,
                           const std::vector<torch::Tensor>& ref_cache,
                           objectives::SideLogprobs& side) {
          tokens += batch.n_tokens;
          side.loss_mask = batch.loss_mask.to(device);
          if (!parallel) {
            auto ids = batch.ids.to(device), attention = batch.attention_mask.to(device);
            side.logp_token = model::token_logprobs(model, ids, attention, side.loss_mask,
                                                    use_hidden ? &side.hidden_states : nullptr);
          } else {
            // This rank's rows through the model, the other ranks' rows gathered: [B, T] (+ the
            // hidden-state entries the objective reads, [B, T, C]).
            const RankRows rows = rank_rows(batch, examples, data.pad_id, *group);
            const int64_t T = batch.ids.size(1);
            std::vector<torch::Tensor> local, hidden;
            if (rows.local) {
              local.push_back(pad_tokens(
                  model::token_logprobs(
                      model, rows.local->ids.to(device), rows.local->attention_mask.to(device),
                      rows.local->loss_mask.to(device), use_hidden ? &hidden : nullptr),
                  T));
              for (int64_t e : hidden_entries) local.push_back(pad_tokens(hidden.at(e), T));
            } else {
              local.push_back(torch::zeros({0, T}, torch::dtype(torch::kFloat32).device(device)));
              for (size_t i = 0; i < hidden_entries.size(); ++i)
                local.push_back(torch::zeros({0, T, model->config().hidden_size},
                                             model->parameters().front().options()));
            }
            auto whole = gather_rows(*group, local, rows.begin, batch.size());
            side.logp_token = whole[0];
            if (use_hidden) {
              side.hidden_states.assign(model->config().num_hidden_layers + 1, torch::Tensor());
              for (size_t i = 0; i < hidden_entries.size(); ++i)
                side.hidden_states[hidden_entries[i]] = whole[i + 1];
            }
          }
          if (!ref_cache.empty()) {
            side.logp_ref_token = gather_reference(ref_cache, batch).to(device);
            side.logp_ref = (side.logp_ref_token * side.loss_mask).sum(1);
          }
        };
        const auto& forget_indices = plan[micro];
        auto forget_batch = data::collate(data.forget, forget_indices, data.pad_id);
        data::Batch retain_batch;
        if (use_retain) {
          retain_batch =
              data::collate(data.retain, retain_plan[micro % retain_plan.size()], data.pad_id);
          // The frozen model's hidden states (RMU), before any forward that autograd records: the
          // initial-weights swap below writes the parameters in place.
          if (use_hidden) inputs.retain.hidden_ref = reference_hidden(retain_batch, data.retain);
        }
        objectives::ObjectiveOutput out;
        {
          const AutocastGuard autocast(device, autocast_dtype);
          to_side(forget_batch, data.forget, reference.forget, inputs.forget);
          if (use_retain) to_side(retain_batch, data.retain, reference.retain, inputs.retain);
          if (use_preferred)
            to_side(data::collate(data.preferred, forget_indices, data.pad_id), data.preferred,
                    reference.preferred, inputs.preferred);
          out = spec.loss(inputs, params);
        }
        LETHE_CHECK(out.loss.defined() && out.loss.numel() == 1, options.objective,
                    ": the objective returned no scalar loss");
        const double loss_value = out.loss.item<double>();
        LETHE_CHECK(std::isfinite(loss_value), options.objective, ": the loss is ", loss_value,
                    " at step ", step + 1, " (lower the learning rate?)");
        // A rank with no rows of this micro-batch has no path to the parameters.
        if (!parallel || out.loss.requires_grad()) (out.loss / group_size).backward();
        loss_sum += loss_value;
        for (const auto& [k, v] : out.parts) parts_sum[k] += v;
      }
      if (parallel) sum_gradients(*group, trainable);
      const double grad_norm = clip_grad_norm(trainable, options.max_grad_norm);
      const double lr = schedule.lr_at(step);
      optimizer.step(lr);
      ++step;
      ++steps_this_run;
      tokens_this_run += tokens;
      last_loss = loss_sum / group_size;
      const double step_seconds = std::chrono::duration<double>(clock::now() - t_step).count();
      const double tokens_per_s = tokens / std::max(step_seconds, 1e-9);
      const bool epoch_done = micro >= n_micro;
      const double epoch_position =
          static_cast<double>(epoch) + static_cast<double>(micro) / static_cast<double>(n_micro);
      if (writer && (step % options.log_every == 0 || step == total_steps)) {
        json line = {{"step", step}, {"epoch", epoch_position}, {"loss", last_loss}};
        for (const auto& [k, v] : parts_sum) line[k] = v / group_size;
        line["lr"] = lr;
        line["grad_norm"] = grad_norm;
        line["tokens"] = tokens;
        line["tokens_per_s"] = tokens_per_s;
        line["elapsed_s"] = std::chrono::duration<double>(clock::now() - t_start).count();
        core::append_line(metrics_path, line.dump());
      }
      progress.update(step, format_status(epoch + 1, epochs_total, last_loss, tokens_per_s));
      const int64_t next_epoch = epoch_done ? epoch + 1 : epoch;
      const int64_t next_micro = epoch_done ? 0 : micro;
      bool saved = false;
      if (epoch_done && std::find(options.save_epochs.begin(), options.save_epochs.end(),
                                  epoch + 1) != options.save_epochs.end()) {
        model->eval();
        if (writer)
          write_dir_atomic(out_dir / ("epoch-" + std::to_string(epoch + 1)), target.save_model);
        model->train();
        save_state(next_epoch, next_micro);
        saved = true;
      }
      if (!saved && options.save_every_steps > 0 && step % options.save_every_steps == 0) {
        save_state(next_epoch, next_micro);
        saved = true;
      }
      if (options.stop_after_steps > 0 && steps_this_run >= options.stop_after_steps &&
          step < total_steps) {
        if (!saved) save_state(next_epoch, next_micro);
        stopped = true;
      }
    }
    if (micro >= n_micro) {
      ++epoch;
      micro = 0;
    }
  }
  model->eval();

  TrainResult result;
  result.steps = step;
  result.total_steps = total_steps;
  result.final_loss = last_loss;
  result.resumed = resume_from.has_value();
  result.seconds = std::chrono::duration<double>(clock::now() - t_start).count();
  result.tokens_per_second = tokens_this_run / std::max(result.seconds, 1e-9);
  result.completed = !stopped;
  if (stopped) return result;
  if (!done_already) save_state(epoch, micro);
  if (writer) target.save_model(out_dir);
  progress.finish(format_status(std::min(epoch, epochs_total), epochs_total, last_loss,
                                result.tokens_per_second));
  return result;
}

}  // namespace lethe::train
