// The relearning attack: a short SFT loop on the unlearned adapter with the forget metrics measured
// at step 0 and after each requested step, and the `lethe relearn` job around it.
#include "train/relearn.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "eval/rouge.h"
#include "io/model_path.h"
#include "model/generate.h"
#include "model/lora.h"
#include "model/sequence_scores.h"
#include "objectives/objective.h"
#include "text/tokenizer.h"
#include "train/adamw.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> id_words(const std::vector<int64_t>& ids) {
  std::vector<std::string> words;
  for (auto id : ids) words.push_back(std::to_string(id));
  return words;
}

RelearnPoint measure(model::CausalLM& model, const std::vector<RelearnProbe>& probes,
                     const RelearnOptions& options) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<model::ScoreRequest> requests;
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& p : probes) {
    model::ScoreRequest r;
    r.ids = p.prompt;
    r.ids.insert(r.ids.end(), p.answer.begin(), p.answer.end());
    r.score_from = static_cast<int64_t>(p.prompt.size());
    requests.push_back(std::move(r));
    prompts.push_back(p.prompt);
  }
  const auto scores = model::score_sequences(model, requests, options.batch_size * 4);
  model::GenerateOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.eos_token_ids = options.eos_token_ids;
  gen.pad_token_id = options.pad_id;
  const auto generated = model::generate(model, prompts, gen);

  RelearnPoint point;
  double unseen_prob = 0.0, unseen_rouge = 0.0;
  for (size_t i = 0; i < probes.size(); ++i) {
    double sum = 0.0;
    for (double lp : scores[i]) sum += lp;
    // TOFU's normalised answer probability: exp(mean token log p).
    const double prob =
        scores[i].empty() ? 0.0 : std::exp(sum / static_cast<double>(scores[i].size()));
    std::vector<int64_t> tokens = generated.tokens[i];
    while (!tokens.empty() && std::count(options.eos_token_ids.begin(), options.eos_token_ids.end(),
                                         tokens.back()) > 0)
      tokens.pop_back();
    double rouge = 0.0;
    if (options.decode && !probes[i].answer_text.empty()) {
      rouge = eval::rouge_l(probes[i].answer_text, options.decode(tokens)).recall;
    } else {
      std::vector<int64_t> target = probes[i].answer;
      while (!target.empty() && std::count(options.eos_token_ids.begin(),
                                           options.eos_token_ids.end(), target.back()) > 0)
        target.pop_back();
      rouge = eval::rouge_l(id_words(target), id_words(tokens)).recall;
    }
    point.forget_prob += prob;
    point.forget_rouge_l += rouge;
    if (!probes[i].seen) {
      unseen_prob += prob;
      unseen_rouge += rouge;
      ++point.n_unseen;
    }
  }
  const double n = static_cast<double>(probes.size());
  point.forget_prob /= n;
  point.forget_rouge_l /= n;
  if (point.n_unseen > 0) {
    point.unseen_prob = unseen_prob / static_cast<double>(point.n_unseen);
    point.unseen_rouge_l = unseen_rouge / static_cast<double>(point.n_unseen);
  }
  return point;
}

}  // namespace

std::vector<RelearnPoint> relearn_curve(model::CausalLM& model,
                                        const std::vector<data::Example>& train_examples,
                                        const std::vector<RelearnProbe>& probes,
                                        const RelearnOptions& options) {
  LETHE_CHECK(!train_examples.empty(), "relearn: no relearning examples");
  LETHE_CHECK(!probes.empty(), "relearn: no forget questions to measure");
  LETHE_CHECK(!options.steps.empty(), "relearn: no steps to report (--steps 10,25,50)");
  for (auto s : options.steps) LETHE_CHECK(s > 0, "relearn: steps must be positive, got ", s);
  LETHE_CHECK(options.batch_size > 0, "relearn: batch_size must be positive");
  LETHE_CHECK(model::has_lora(model), "relearn: the model carries no (unlearned) adapter");
  std::vector<int64_t> steps = options.steps;
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());

  const auto& sft = objectives::find_objective("sft");
  NamedParameters params = model::lora_parameters(model);
  for (auto& [name, p] : params) p.set_requires_grad(true);
  AdamWOptions adamw;
  adamw.weight_decay = options.weight_decay;
  AdamW optimizer(params, adamw);
  const torch::Device device = params.front().second.device();

  std::vector<RelearnPoint> curve = {measure(model, probes, options)};
  // Batches cycle over a seeded shuffle of the examples (reshuffled after each pass).
  std::vector<int64_t> order;
  data::SplitMix64 rng(options.seed);
  size_t cursor = 0;
  auto next_batch = [&]() {
    std::vector<int64_t> indices;
    while (static_cast<int64_t>(indices.size()) <
           std::min<int64_t>(options.batch_size, static_cast<int64_t>(train_examples.size()))) {
      if (cursor >= order.size()) {
        order.resize(train_examples.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
        data::shuffle(order, rng);
        cursor = 0;
      }
      indices.push_back(order[cursor++]);
    }
    return data::collate(train_examples, indices, options.pad_id);
  };
  for (int64_t step = 1; step <= steps.back(); ++step) {
    model->train();
    const auto batch = next_batch();
    objectives::ObjectiveInputs inputs;
    inputs.forget.loss_mask = batch.loss_mask.to(device);
    inputs.forget.logp_token = model::token_logprobs(
        model, batch.ids.to(device), batch.attention_mask.to(device), inputs.forget.loss_mask);
    auto out = sft.loss(inputs, {});
    optimizer.zero_grad();
    out.loss.backward();
    clip_grad_norm(params, options.max_grad_norm);
    optimizer.step(options.learning_rate);
    if (std::binary_search(steps.begin(), steps.end(), step)) {
      RelearnPoint point = measure(model, probes, options);
      point.step = step;
      point.loss = out.loss.item<double>();
      curve.push_back(point);
    }
  }
  model->eval();
  return curve;
}

json relearn_results_json(const std::vector<RelearnPoint>& curve, const json& meta,
                          const RelearnPoint* reference) {
  json results = meta;
  json points = json::array();
  const RelearnPoint& start = curve.front();
  auto recovery = [&](double now, double at_start, double full) -> json {
    if (full - at_start <= 1e-12) return nullptr;
    return (now - at_start) / (full - at_start);
  };
  for (const auto& p : curve) {
    json line = {{"step", p.step},
                 {"loss", p.loss},
                 {"forget_prob", p.forget_prob},
                 {"forget_rouge_l", p.forget_rouge_l},
                 {"unseen_prob", p.n_unseen ? json(p.unseen_prob) : json(nullptr)},
                 {"unseen_rouge_l", p.n_unseen ? json(p.unseen_rouge_l) : json(nullptr)},
                 {"n_unseen", p.n_unseen}};
    if (reference) {
      line["recovery_prob"] = recovery(p.forget_prob, start.forget_prob, reference->forget_prob);
      line["recovery_rouge_l"] =
          recovery(p.forget_rouge_l, start.forget_rouge_l, reference->forget_rouge_l);
    }
    points.push_back(line);
  }
  results["steps"] = points;
  if (reference)
    results["finetuned"] = {{"forget_prob", reference->forget_prob},
                            {"forget_rouge_l", reference->forget_rouge_l}};
  return results;
}

json run_relearn(const RelearnConfig& config) {
  LETHE_CHECK(!config.model.empty(), "relearn: no model given (--model)");
  LETHE_CHECK(!config.adapter.empty(), "relearn: no unlearned adapter given (--adapter)");
  LETHE_CHECK(!config.data.empty(), "relearn: no dataset folder given (--data)");
  LETHE_CHECK(!config.out.empty(), "relearn: no output folder given (--out)");
  if (config.set != "forget" && config.set != "correlated" && config.set != "unrelated")
    throw UsageError("relearn: unknown --set '" + config.set +
                     "' (valid: forget, correlated, unrelated)");
  LETHE_CHECK(config.examples > 0, "relearn: --examples must be positive, got ", config.examples);
  const fs::path data_dir = config.data;
  const auto sf = data::load_qa(data_dir / data::files::sf);
  LETHE_CHECK(!sf.empty(), "relearn: ", (data_dir / data::files::sf).string(), " has no questions");
  std::vector<data::QAPair> pool;
  if (config.set == "forget") {
    pool = sf;
  } else if (config.set == "correlated") {
    for (const auto& q : data::load_qa(data_dir / data::files::sr))
      if (q.subset == data::Subset::correlated) pool.push_back(q);
  } else {
    pool = data::load_qa(data_dir / data::files::world);
  }
  LETHE_CHECK(!pool.empty(), "relearn: the ", config.set, " set of ", data_dir.string(),
              " is empty");
  // A seeded handful of the set.
  std::vector<int64_t> picks(pool.size());
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = static_cast<int64_t>(i);
  data::SplitMix64 rng(data::derive_seed(config.options.seed, 7, 0));
  data::shuffle(picks, rng);
  picks.resize(std::min<size_t>(picks.size(), static_cast<size_t>(config.examples)));

  const fs::path model_dir = io::resolve_model_path(config.model);
  const text::Tokenizer tokenizer = text::Tokenizer::load(model_dir);
  const auto device = core::parse_device(config.device);
  const auto dtype = core::parse_dtype(config.dtype, device);
  model::CausalLM model = model::load_causal_lm(model_dir.string(), dtype, device);
  const auto adapter_dtype =
      dtype == torch::kFloat32 ? std::nullopt : std::optional<torch::ScalarType>(torch::kFloat32);

  RelearnOptions options = config.options;
  options.pad_id = tokenizer.pad_id().value_or(tokenizer.eos_id().value_or(0));
  options.eos_token_ids = model::declared_eos_token_ids(model_dir, model->config());
  if (auto eos = tokenizer.eos_id()) options.eos_token_ids.push_back(*eos);
  options.decode = [&tokenizer](const std::vector<int64_t>& ids) {
    return tokenizer.decode(ids, true);
  };

  std::vector<data::Example> train_examples;
  std::set<std::string> seen;
  for (auto i : picks) {
    const auto& q = pool[static_cast<size_t>(i)];
    train_examples.push_back(data::qa_example(tokenizer, q.question, q.answer, config.max_length));
    if (config.set == "forget") seen.insert(q.id);
  }
  std::vector<RelearnProbe> probes;
  for (const auto& q : sf) {
    if (config.eval_limit > 0 && static_cast<int64_t>(probes.size()) >= config.eval_limit) break;
    const auto ids = tokenizer.encode_qa(q.question, q.answer, std::nullopt);
    probes.push_back({q.id, ids.prompt_ids, ids.answer_ids, q.answer, seen.count(q.id) > 0});
  }

  std::optional<RelearnPoint> reference;
  if (!config.finetuned.empty()) {
    model::load_adapter(model, config.finetuned, adapter_dtype);
    reference = measure(model, probes, options);
  }
  model::load_adapter(model, config.adapter, adapter_dtype);
  const auto curve = relearn_curve(model, train_examples, probes, options);

  json meta = {{"model", config.model},
               {"adapter", config.adapter},
               {"finetuned", config.finetuned},
               {"data", config.data},
               {"set", config.set},
               {"examples", train_examples.size()},
               {"eval_questions", probes.size()},
               {"learning_rate", options.learning_rate},
               {"batch_size", options.batch_size},
               {"seed", options.seed}};
  json results = relearn_results_json(curve, meta, reference ? &*reference : nullptr);
  fs::create_directories(config.out);
  core::write_json(fs::path(config.out) / "relearn_results.json", results);
  return results;
}

}  // namespace lethe::train
