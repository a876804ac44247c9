// The one training loop: batches -> per-side token log-probs -> objective -> AdamW. The reference
// pass is train/reference_cache.h, checkpoints and resume train/checkpoint.h, the data-parallel
// collectives train/distributed.h; what is left here reads top to bottom.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <sstream>
#include <utility>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "train/autocast.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/reference_cache.h"
#include "train/stop_criterion.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

bool has_training_run(const fs::path& out_dir) {
  return fs::exists(out_dir / "metrics.jsonl") || fs::exists(out_dir / "checkpoints");
}

namespace {

// The sides and hidden states the objective reads with the run's params.
struct ObjectiveUse {
  bool retain = false;
  bool preferred = false;
  bool hidden = false;
};

void check_examples(const std::vector<data::Example>& examples, const char* side) {
  for (size_t i = 0; i < examples.size(); ++i) {
    LETHE_CHECK(examples[i].ids.size() == examples[i].loss_mask.size() && examples[i].length() >= 2,
                side, " example ", i, " is shorter than 2 tokens");
    int64_t scored = 0;
    for (size_t t = 1; t < examples[i].loss_mask.size(); ++t) scored += examples[i].loss_mask[t];
    LETHE_CHECK(scored > 0, side, " example ", i, " has no answer tokens to train on");
  }
}

// Everything train() can reject before it writes anything.
void check_inputs(const TrainData& data, const TrainOptions& options, const ObjectiveUse& use) {
  LETHE_CHECK(!data.forget.empty(), options.objective, ": the ",
              options.objective == "sft" ? "training" : "forget", " set is empty");
  LETHE_CHECK(!use.retain || !data.retain.empty(), options.objective,
              " needs a retain set, but none was given");
  LETHE_CHECK(!use.preferred || data.preferred.size() == data.forget.size(), options.objective,
              " needs one preferred answer per forget example (", data.preferred.size(), " for ",
              data.forget.size(), ")");
  check_examples(data.forget, "forget");
  if (use.retain) check_examples(data.retain, "retain");
  if (use.preferred) check_examples(data.preferred, "preferred");
  const LrSchedule check_lr(options.schedule, 1);  // validates lr and ratios
  (void)check_lr;
  LETHE_CHECK(options.batch_size > 0 && options.grad_accum > 0,
              "batch_size and grad_accum must be positive");
  LETHE_CHECK(options.eval_every >= 0, "eval_every must be >= 0, got ", options.eval_every);
  LETHE_CHECK(options.stop_when.empty() || options.eval_every > 0,
              "stop_when needs eval_every > 0 (the criterion is checked at each evaluation)");
}

int64_t layer_of(const std::string& name) {
  const std::string marker = "layers.";
  const auto pos = name.find(marker);
  if (pos == std::string::npos) return -1;
  return std::stoll(name.substr(pos + marker.size()));
}

// The parameters of `all` in decoder layers `layers` (empty: all of them). The others are frozen
// for the run (requires_grad off) and unfrozen when this goes out of scope.
class TrainableSelection {
 public:
  TrainableSelection(const NamedParameters& all, const std::vector<int64_t>& layers) {
    for (const auto& [name, p] : all) {
      const bool keep =
          layers.empty() || std::find(layers.begin(), layers.end(), layer_of(name)) != layers.end();
      if (keep) {
        trainable_.emplace_back(name, p);
      } else if (p.requires_grad()) {
        p.set_requires_grad(false);
        frozen_here_.push_back(p);
      }
    }
  }
  ~TrainableSelection() {
    for (auto& p : frozen_here_) p.set_requires_grad(true);
  }
  TrainableSelection(const TrainableSelection&) = delete;
  TrainableSelection& operator=(const TrainableSelection&) = delete;
  const NamedParameters& params() const { return trainable_; }

 private:
  NamedParameters trainable_;
  std::vector<torch::Tensor> frozen_here_;
};

// How the forget side splits into micro-batches and optimizer steps.
struct StepPlan {
  data::BatchPlanOptions batches;
  std::vector<int64_t> forget_lengths, retain_lengths;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;  // max_steps, else steps_per_epoch * epochs
  int64_t epochs = 0;       // epochs that hold total_steps
};

StepPlan plan_steps(const TrainData& data, const TrainOptions& options) {
  StepPlan plan;
  for (const auto& e : data.forget) plan.forget_lengths.push_back(e.length());
  for (const auto& e : data.retain) plan.retain_lengths.push_back(e.length());
  plan.batches.batch_size = options.batch_size;
  plan.batches.group_by_length = options.group_by_length;
  const int64_t micro_per_epoch = static_cast<int64_t>(
      data::plan_epoch(plan.forget_lengths, plan.batches, options.seed, 0).size());
  plan.steps_per_epoch = (micro_per_epoch + options.grad_accum - 1) / options.grad_accum;
  plan.total_steps =
      options.max_steps > 0 ? options.max_steps : plan.steps_per_epoch * options.epochs;
  plan.epochs = options.max_steps > 0
                    ? (options.max_steps + plan.steps_per_epoch - 1) / plan.steps_per_epoch
                    : options.epochs;
  return plan;
}

// The hidden-state entries the objective reads (decoder layer l is entry l + 1): the spec's
// hidden_layers, else every entry.
std::vector<int64_t> hidden_entries(const objectives::ObjectiveSpec& spec,
                                    const objectives::ObjectiveParams& params,
                                    int64_t num_hidden_layers) {
  std::vector<int64_t> entries;
  const int64_t n_entries = num_hidden_layers + 1;
  if (spec.hidden_layers) {
    for (int64_t l : spec.hidden_layers(params))
      if (l >= 0 && l + 1 < n_entries) entries.push_back(l + 1);
  } else {
    for (int64_t e = 0; e < n_entries; ++e) entries.push_back(e);
  }
  return entries;
}

// Runs the model on one side's batch and fills what the objective reads. Data parallel (`group`):
// this rank forwards its rows, the other ranks' log-probs (and hidden-state entries) are gathered,
// so the objective sees the whole batch and the sum of the ranks' gradients is the whole batch's.
class BatchForward {
 public:
  BatchForward(model::CausalLM& model, ProcessGroup* group, int64_t pad_id, bool use_hidden,
               std::vector<int64_t> hidden_entries)
      : model_(model),
        group_(group),
        pad_id_(pad_id),
        use_hidden_(use_hidden),
        hidden_entries_(std::move(hidden_entries)),
        device_(model->parameters().front().device()),
        n_entries_(model->config().num_hidden_layers + 1) {}

  // [B, T] logp_token and loss_mask (+ hidden_states), and logp_ref(_token) from the side's cache
  // when it has one.
  void side(const data::Batch& batch, const std::vector<data::Example>& examples,
            const std::vector<torch::Tensor>& reference, objectives::SideLogprobs& side) const {
    side.loss_mask = batch.loss_mask.to(device_);
    if (!group_) {
      auto ids = batch.ids.to(device_), attention = batch.attention_mask.to(device_);
      side.logp_token = model::token_logprobs(model_, ids, attention, side.loss_mask,
                                              use_hidden_ ? &side.hidden_states : nullptr);
    } else {
      const auto whole = forward_rank_rows(
          *group_, batch, examples, pad_id_,
          [&](const data::Batch& rows) {
            std::vector<torch::Tensor> hidden;
            std::vector<torch::Tensor> out = {
                model::token_logprobs(model_, rows.ids.to(device_), rows.attention_mask.to(device_),
                                      rows.loss_mask.to(device_), use_hidden_ ? &hidden : nullptr)};
            for (int64_t e : hidden_entries_) out.push_back(hidden.at(e));
            return out;
          },
          [&](int64_t T) {
            std::vector<torch::Tensor> out = {
                torch::zeros({0, T}, torch::dtype(torch::kFloat32).device(device_))};
            for (size_t i = 0; i < hidden_entries_.size(); ++i) out.push_back(no_hidden_rows(T));
            return out;
          });
      side.logp_token = whole[0];
      if (use_hidden_) {
        side.hidden_states.assign(n_entries_, torch::Tensor());
        for (size_t i = 0; i < hidden_entries_.size(); ++i)
          side.hidden_states[hidden_entries_[i]] = whole[i + 1];
      }
    }
    if (!reference.empty()) {
      side.logp_ref_token = gather_reference(reference, batch).to(device_);
      side.logp_ref = (side.logp_ref_token * side.loss_mask).sum(1);
    }
  }

  // The reference model's hidden states of a batch (reference_hidden_states); data parallel: the
  // entries the objective reads, gathered from every rank.
  std::vector<torch::Tensor> reference_hidden(const data::Batch& batch,
                                              const std::vector<data::Example>& examples,
                                              ReferenceModel reference,
                                              const NamedParameters& trainable,
                                              ReferenceCache& cache) const {
    if (!group_) return reference_hidden_states(model_, batch, reference, trainable, cache);
    const auto whole = forward_rank_rows(
        *group_, batch, examples, pad_id_,
        [&](const data::Batch& rows) {
          const auto hidden = reference_hidden_states(model_, rows, reference, trainable, cache);
          std::vector<torch::Tensor> out;
          for (int64_t e : hidden_entries_) out.push_back(hidden.at(e));
          return out;
        },
        [&](int64_t T) {
          std::vector<torch::Tensor> out;
          for (size_t i = 0; i < hidden_entries_.size(); ++i) out.push_back(no_hidden_rows(T));
          return out;
        });
    std::vector<torch::Tensor> entries(n_entries_);
    for (size_t i = 0; i < hidden_entries_.size(); ++i) entries[hidden_entries_[i]] = whole[i];
    return entries;
  }

 private:
  // A rank's hidden-state entry when the batch has no rows for it: [0, T, C].
  torch::Tensor no_hidden_rows(int64_t T) const {
    return torch::zeros({0, T, model_->config().hidden_size},
                        model_->parameters().front().options());
  }

  model::CausalLM& model_;
  ProcessGroup* group_;  // set only for data parallel
  int64_t pad_id_;
  bool use_hidden_;
  std::vector<int64_t> hidden_entries_;
  c10::Device device_;
  int64_t n_entries_;
};

// The batches of one micro-batch: forget rows, their preferred answers, retain rows (cycling
// through the retain plan).
struct MicroBatch {
  data::Batch forget, retain, preferred;
  int64_t n_tokens = 0;
};

MicroBatch collate_micro_batch(const TrainData& data, const ObjectiveUse& use,
                               const std::vector<int64_t>& forget_rows,
                               const std::vector<int64_t>* retain_rows) {
  MicroBatch batch;
  batch.forget = data::collate(data.forget, forget_rows, data.pad_id);
  batch.n_tokens += batch.forget.n_tokens;
  if (use.retain) {
    batch.retain = data::collate(data.retain, *retain_rows, data.pad_id);
    batch.n_tokens += batch.retain.n_tokens;
  }
  if (use.preferred) {
    batch.preferred = data::collate(data.preferred, forget_rows, data.pad_id);
    batch.n_tokens += batch.preferred.n_tokens;
  }
  return batch;
}

// Dropout draws from the global generator, seeded per micro-batch so a resumed run matches (and
// per rank: the ranks' rows get independent masks).
void seed_micro_batch(uint64_t seed, int64_t position, int64_t rank) {
  const uint64_t micro_seed = data::derive_seed(seed, 3, static_cast<uint64_t>(position));
  torch::manual_seed(rank > 0 ? data::derive_seed(micro_seed, 4, rank) : micro_seed);
}

// Data parallel: every rank must start from the same options, data, checkpoint and weights. Also
// the barrier before rank 0 writes anything: every rank has checked the folder.
void check_ranks_agree(ProcessGroup& group, const std::string& fingerprint, int64_t step,
                       const NamedParameters& trainable) {
  double checksum = 0.0;
  for (const auto& [name, p] : trainable)
    checksum += p.detach().to(torch::kFloat64).sum().item<double>();
  check_same_across_ranks(
      group, {{"options and data fingerprint",
               static_cast<double>(std::stoull(fingerprint.substr(0, 10), nullptr, 16))},
              {"resumed step", static_cast<double>(step)},
              {"trainable parameter checksum", checksum}});
}

// The sums over one optimizer step's micro-batches.
struct StepTotals {
  double loss = 0.0;
  std::map<std::string, double> parts;
  int64_t tokens = 0;
};

// One line of metrics.jsonl: the step's mean loss and parts, lr, gradient norm and throughput.
std::string metrics_line(int64_t step, double epoch_position, const StepTotals& totals,
                         double group_size, double lr, double grad_norm, double tokens_per_s,
                         std::chrono::steady_clock::duration elapsed) {
  json line = {{"step", step}, {"epoch", epoch_position}, {"loss", totals.loss / group_size}};
  for (const auto& [k, v] : totals.parts) line[k] = v / group_size;
  line["lr"] = lr;
  line["grad_norm"] = grad_norm;
  line["tokens"] = totals.tokens;
  line["tokens_per_s"] = tokens_per_s;
  line["elapsed_s"] = std::chrono::duration<double>(elapsed).count();
  return line.dump();
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
  const ObjectiveUse use{objectives::requires_retain(spec, params), spec.needs_preferred,
                         spec.needs_hidden_states};
  // Data parallel: every rank runs this same loop on the same batches (BatchForward); only rank 0
  // writes files.
  const bool parallel = group && group->world_size() > 1;
  const bool writer = !group || group->rank() == 0;
  check_inputs(data, options, use);
  const bool evaluating = options.eval_every > 0;
  // Rank 0 alone would have to evaluate and broadcast the stop; refused instead (docs/training.md).
  LETHE_CHECK(
      !evaluating || !parallel,
      "eval_every / stop_when: evaluation during training is not supported in data-parallel "
      "runs (",
      group ? group->world_size() : 1, " processes); run it in one process");
  LETHE_CHECK(!evaluating || target.evaluate, "eval_every: no evaluation given for this run");
  std::optional<StopCriterion> criterion;
  if (!options.stop_when.empty())
    criterion = StopCriterion::parse(options.stop_when, training_eval_keys());

  // ---- what trains (the objective may choose its layers), the plan, the optimizer
  std::vector<int64_t> layers = options.trainable_layers;
  if (layers.empty() && spec.trained_layers) layers = spec.trained_layers(params);
  const TrainableSelection selection(target.params, layers);
  const NamedParameters& trainable = selection.params();
  LETHE_CHECK(!trainable.empty(), "no trainable parameters (trainable_layers selects none)");
  const StepPlan plan = plan_steps(data, options);
  const int64_t total_steps = plan.total_steps;
  LrSchedule schedule(options.schedule, total_steps);
  AdamW optimizer(trainable, options.adamw);
  const std::string fingerprint = run_fingerprint(options, trainable, data);
  const auto device = model->parameters().front().device();
  const auto autocast_dtype = parse_autocast(options.autocast);
  if (autocast_dtype == c10::kBFloat16) core::warn_if_slow_bf16("autocast bfloat16", device);
  const BatchForward forward(model, parallel ? group : nullptr, data.pad_id, use.hidden,
                             use.hidden
                                 ? hidden_entries(spec, params, model->config().num_hidden_layers)
                                 : std::vector<int64_t>());

  // ---- output folder: fresh, or resumed from checkpoints/latest
  const Checkpointer checkpoints(out_dir / "checkpoints");
  const fs::path metrics_path = out_dir / "metrics.jsonl";
  std::optional<fs::path> resume_from;
  if (resume) {
    resume_from = checkpoints.latest();
  } else {
    LETHE_CHECK(!has_training_run(out_dir), out_dir.string(),
                " already holds a training run (metrics.jsonl or checkpoints/); use --resume to "
                "continue it or choose another output folder");
  }
  TrainerState start;
  if (resume_from) start = checkpoints.restore(*resume_from, fingerprint, trainable, optimizer);
  if (parallel) check_ranks_agree(*group, fingerprint, start.step, trainable);
  if (writer && resume_from) {
    truncate_metrics(metrics_path, start.step);
  } else if (writer) {
    fs::create_directories(checkpoints.dir());
    if (fs::exists(metrics_path)) fs::remove(metrics_path);  // a resume that found no checkpoint
  }

  // ---- reference log-probs and initial weights, before any update
  ReferenceNeeds needs;
  needs.logprobs = spec.needs_reference;
  needs.retain = use.retain;
  needs.preferred = use.preferred;
  needs.initial_weights = use.hidden && options.reference == ReferenceModel::initial;
  ReferenceCache reference = load_or_compute_reference(
      model, data, trainable, needs, options.reference, options.batch_size,
      checkpoints.reference_path(), resume_from.has_value(), writer, group);

  // ---- the loop: epochs of micro-batches, grad_accum of them per optimizer step
  int64_t step = start.step, epoch = start.epoch, micro = start.micro;  // micro: next of `epoch`
  double last_loss = start.loss;
  std::optional<int64_t> stop_step;
  if (start.stop_step > 0) stop_step = start.stop_step;
  const bool done_already = step >= total_steps || stop_step.has_value();
  core::Progress progress(options.label, total_steps);
  progress.update(step, done_already ? "done" : "");
  model->train();
  int64_t steps_this_run = 0;
  int64_t tokens_this_run = 0;
  bool stopped = false;
  const auto save_checkpoint = [&](int64_t next_epoch, int64_t next_micro) {
    if (writer)
      checkpoints.save(trainable, optimizer,
                       {step, next_epoch, next_micro, last_loss, total_steps, fingerprint,
                        stop_step.value_or(0)},
                       options.keep_checkpoints);
  };
  // One evaluation row; true when the stop criterion holds (never checked before the first step).
  EvalValues last_eval;
  const auto evaluate = [&](double epoch_position) {
    const auto t_eval = clock::now();
    model->eval();
    {
      torch::NoGradGuard no_grad;
      last_eval = target.evaluate();
    }
    model->train();
    last_eval[eval_key::kStep] = static_cast<double>(step);
    std::optional<bool> met;
    if (criterion) met = step > 0 && criterion->met(last_eval);
    if (writer)
      core::append_line(metrics_path,
                        eval_row(step, epoch_position, last_eval,
                                 std::chrono::duration<double>(clock::now() - t_eval).count(), met)
                            .dump());
    return met.value_or(false);
  };
  if (evaluating && !done_already && step == 0) evaluate(0.0);
  while (!done_already && epoch < plan.epochs && step < total_steps && !stopped && !stop_step) {
    const auto forget_plan =
        data::plan_epoch(plan.forget_lengths, plan.batches, options.seed, epoch);
    std::vector<std::vector<int64_t>> retain_plan;
    if (use.retain)
      retain_plan = data::plan_epoch(plan.retain_lengths, plan.batches,
                                     data::derive_seed(options.seed, 2, 0), epoch);
    const int64_t n_micro = static_cast<int64_t>(forget_plan.size());
    while (micro < n_micro && step < total_steps && !stopped && !stop_step) {
      const auto t_step = clock::now();
      // The micro-batches of this step (the last group of an epoch may be shorter).
      const int64_t group_start = micro - micro % options.grad_accum;
      const int64_t group_end = std::min(n_micro, group_start + options.grad_accum);
      const double group_size = static_cast<double>(group_end - group_start);
      for (auto& [name, p] : trainable) p.mutable_grad() = torch::Tensor();
      StepTotals totals;
      for (; micro < group_end; ++micro) {
        seed_micro_batch(options.seed, epoch * n_micro + micro, parallel ? group->rank() : 0);
        const MicroBatch batch =
            collate_micro_batch(data, use, forget_plan[micro],
                                use.retain ? &retain_plan[micro % retain_plan.size()] : nullptr);
        totals.tokens += batch.n_tokens;
        objectives::ObjectiveInputs inputs;
        // The frozen model's hidden states (RMU), before any forward that autograd records: the
        // initial-weights swap writes the parameters in place.
        if (use.retain && use.hidden)
          inputs.retain.hidden_ref = forward.reference_hidden(
              batch.retain, data.retain, options.reference, trainable, reference);
        objectives::ObjectiveOutput out;
        {
          const AutocastGuard autocast(device, autocast_dtype);
          forward.side(batch.forget, data.forget, reference.forget, inputs.forget);
          if (use.retain) forward.side(batch.retain, data.retain, reference.retain, inputs.retain);
          if (use.preferred)
            forward.side(batch.preferred, data.preferred, reference.preferred, inputs.preferred);
          out = spec.loss(inputs, params);
        }
        LETHE_CHECK(out.loss.defined() && out.loss.numel() == 1, options.objective,
                    ": the objective returned no scalar loss");
        const double loss_value = out.loss.item<double>();
        LETHE_CHECK(std::isfinite(loss_value), options.objective, ": the loss is ", loss_value,
                    " at step ", step + 1, " (lower the learning rate?)");
        // A rank with no rows of this micro-batch has no path to the parameters.
        if (!parallel || out.loss.requires_grad()) (out.loss / group_size).backward();
        totals.loss += loss_value;
        for (const auto& [k, v] : out.parts) totals.parts[k] += v;
      }
      if (parallel) sum_gradients(*group, trainable);
      const double grad_norm = clip_grad_norm(trainable, options.max_grad_norm);
      const double lr = schedule.lr_at(step);
      optimizer.step(lr);
      ++step;
      ++steps_this_run;
      tokens_this_run += totals.tokens;
      last_loss = totals.loss / group_size;

      // ---- log, export, checkpoint
      const double step_seconds = std::chrono::duration<double>(clock::now() - t_step).count();
      const double tokens_per_s = totals.tokens / std::max(step_seconds, 1e-9);
      const bool epoch_done = micro >= n_micro;
      const double epoch_position =
          static_cast<double>(epoch) + static_cast<double>(micro) / static_cast<double>(n_micro);
      if (writer && (step % options.log_every == 0 || step == total_steps)) {
        core::append_line(metrics_path,
                          metrics_line(step, epoch_position, totals, group_size, lr, grad_norm,
                                       tokens_per_s, clock::now() - t_start));
      }
      if (evaluating && (step % options.eval_every == 0 || step == total_steps) &&
          evaluate(epoch_position))
        stop_step = step;
      progress.update(step, format_status(epoch + 1, plan.epochs, last_loss, tokens_per_s));
      const bool export_epoch =
          epoch_done && std::find(options.save_epochs.begin(), options.save_epochs.end(),
                                  epoch + 1) != options.save_epochs.end();
      if (export_epoch) {
        model->eval();
        if (writer)
          core::write_dir_atomic(out_dir / ("epoch-" + std::to_string(epoch + 1)),
                                 target.save_model);
        model->train();
      }
      stopped = options.stop_after_steps > 0 && steps_this_run >= options.stop_after_steps &&
                step < total_steps && !stop_step;
      if (export_epoch || (options.save_every_steps > 0 && step % options.save_every_steps == 0) ||
          stopped)
        save_checkpoint(epoch_done ? epoch + 1 : epoch, epoch_done ? 0 : micro);
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
  result.stop_step = stop_step;
  result.last_eval = last_eval;
  if (stopped) return result;
  if (!done_already) save_checkpoint(epoch, micro);
  if (writer) target.save_model(out_dir);
  progress.finish(format_status(std::min(epoch, plan.epochs), plan.epochs, last_loss,
                                result.tokens_per_second));
  return result;
}

}  // namespace lethe::train
