// End-to-end tests of the evaluator: a random-weight Qwen2-shaped model with a BPE tokenizer
// trained on a small offline-generated dataset, two PEFT adapters, and `lethe eval` on top of them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/json_io.h"
#include "datagen/generate.h"
#include "eval/evaluator_run.h"
#include "eval/exact_memorization.h"
#include "eval/extraction_strength.h"
#include "eval/rouge.h"
#include "eval/truth_ratio.h"
#include "expect_close.h"
#include "io/checkpoint.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "text/bpe_trainer.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Writes a random Qwen2-shaped model folder (hidden `hidden`) using the tokenizer in `tok_dir`.
void write_random_model(const fs::path& dir, const text::TrainedBpe& bpe, int64_t hidden,
                        uint64_t seed) {
  fs::create_directories(dir);
  const auto chat = text::ChatTemplate::chatml(std::nullopt);
  bpe.save(dir, chat, 512);
  const auto tok = text::Tokenizer::load(dir);
  model::ModelConfig mc;
  mc.vocab_size = tok.vocab_size();
  mc.hidden_size = hidden;
  mc.intermediate_size = 2 * hidden;
  mc.num_hidden_layers = 2;
  mc.num_attention_heads = 4;
  mc.num_key_value_heads = 2;
  mc.head_dim = hidden / 4;
  mc.max_position_embeddings = 512;
  mc.tie_word_embeddings = true;
  mc.eos_token_id = {tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")};
  torch::manual_seed(seed);
  model::CausalLM m(mc);
  io::StateDict weights;
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    if (p.value().dim() >= 2) p.value().normal_(0.0, 0.5);
    if (p.key() != "lm_head.weight") weights[p.key()] = p.value().detach();
  }
  io::save_state_dict(dir, weights);
  core::write_json(dir / "config.json", mc.to_json());
}

// A PEFT adapter with non-zero B (so it changes the outputs).
void write_adapter(const fs::path& model_dir, const fs::path& dir, uint64_t seed) {
  auto m = model::load_causal_lm(model_dir.string(), torch::kFloat32, torch::kCPU);
  model::LoraConfig cfg;
  cfg.r = 4;
  model::attach_lora(m, cfg, seed);
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : model::lora_parameters(m)) t.normal_(0.0, 0.3);
  model::save_adapter(m, dir, model_dir.string());
}

class EvaluatorE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = test::make_temp_dir("evaluator_e2e");
    datagen::GenerateOptions g;
    g.out_dir = (root_ / "data").string();
    g.targets = 2;
    g.background = 3;
    g.holdout = 2;
    g.sf_per_target = 2;
    g.correlated_per_target = 2;
    g.other_per_target = 2;
    g.world_person_qa = 1;
    g.world_country_qa = 3;
    g.paraphrased_questions = 1;
    g.check = false;
    datagen::generate_dataset(g);
    dataset_ = new data::Dataset(data::load_dataset(root_ / "data"));
    text::BpeTrainerOptions bo;
    bo.vocab_size = 400;
    text::BpeTrainer trainer(bo);
    for (const auto& q : dataset_->sf) trainer.add_text(q.question + " " + q.answer);
    for (const auto& q : dataset_->sr) trainer.add_text(q.question + " " + q.answer);
    for (const auto& d : dataset_->corpus) trainer.add_text(d.text);
    const auto bpe = trainer.train();
    write_random_model(root_ / "model", bpe, 32, 1);
    write_random_model(root_ / "other_model", bpe, 48, 2);
    write_adapter(root_ / "model", root_ / "adapter_a", 3);
    write_adapter(root_ / "model", root_ / "adapter_retain", 4);
    write_adapter(root_ / "other_model", root_ / "adapter_other", 5);
  }
  static void TearDownTestSuite() {
    delete dataset_;
    dataset_ = nullptr;
  }

  static eval::EvalRunConfig base_config() {
    eval::EvalRunConfig c;
    c.model = (root_ / "model").string();
    c.data = (root_ / "data").string();
    c.options.max_new_tokens = 6;
    c.options.batch_size = 4;
    return c;
  }

  static fs::path root_;
  static data::Dataset* dataset_;
};
fs::path EvaluatorE2E::root_;
data::Dataset* EvaluatorE2E::dataset_ = nullptr;

TEST_F(EvaluatorE2E, FullRunStructureAndInvariants) {
  auto c = base_config();
  c.adapters = {(root_ / "adapter_a").string(), (root_ / "adapter_a").string()};
  c.names = {"a1", "a2"};
  c.retain_model = (root_ / "adapter_retain").string();
  c.icu = true;
  c.out = (root_ / "results.json").string();
  const json r = eval::run_evaluation(c);
  EXPECT_EQ(core::read_json(c.out), r);
  EXPECT_TRUE(r["complete"].get<bool>());
  for (const char* key : {"config", "hashes", "models", "timing"})
    EXPECT_TRUE(r.contains(key)) << key;
  EXPECT_EQ(r["hashes"]["adapters"]["a1"], r["hashes"]["adapters"]["a2"]);
  EXPECT_EQ(r["hashes"]["data"].size(), data::dataset_jsonl_files().size());
  const auto& models = r["models"];
  ASSERT_EQ(models.size(), 5u);
  for (const char* name : {"base", "a1", "a2", "retain", "icu"})
    ASSERT_TRUE(models.contains(name)) << name;
  EXPECT_TRUE(models["retain"]["retain_reference"].get<bool>());
  EXPECT_TRUE(models["icu"]["system_prompt"].get<std::string>().find(
                  dataset_->profile(dataset_->sf[0].person_id)->name) != std::string::npos);

  for (const auto& [name, m] : models.items()) {
    SCOPED_TRACE(name);
    const auto& per = m["per_example"];
    EXPECT_EQ(per["forget"].size(), dataset_->sf.size());
    EXPECT_EQ(per["retain"].size(), dataset_->sr.size());
    EXPECT_EQ(per["world"].size(), dataset_->world.size());
    EXPECT_EQ(per["mia"].size(), dataset_->sf.size() + dataset_->holdout.size());
    EXPECT_EQ(per["probes"].size(), dataset_->forget_eval.size());
    const auto& a = m["aggregates"];
    for (const char* set : {"forget", "retain", "retain_correlated", "retain_other", "world"})
      for (const char* key : {"rouge_l_recall", "rouge_l_f", "answer_prob", "truth_ratio",
                              "exact_memorization", "extraction_strength"}) {
        ASSERT_TRUE(a[set].contains(key)) << set << "." << key;
        const double v = a[set][key].get<double>();
        EXPECT_GE(v, 0.0) << set << "." << key;
        EXPECT_LE(v, 1.0) << set << "." << key;
      }
    for (const char* key :
         {"rouge_l_recall", "answer_prob", "truth_ratio", "exact_memorization", "extraction_strength"})
      EXPECT_NEAR(a["retain_gap"][key].get<double>(),
                  a["retain_other"][key].get<double>() - a["retain_correlated"][key].get<double>(),
                  1e-12);
    for (const char* key : {"model_utility", "forget_quality"}) {
      ASSERT_TRUE(a.contains(key)) << key;
      EXPECT_GE(a[key].get<double>(), 0.0);
      EXPECT_LE(a[key].get<double>(), 1.0);
    }
    for (const char* attack : {"loss", "zlib", "min_k", "min_k_plus_plus"}) {
      ASSERT_TRUE(a["mia"].contains(attack)) << attack;
      EXPECT_GE(a["mia"][attack]["auc"].get<double>(), 0.0);
      EXPECT_LE(a["mia"][attack]["auc"].get<double>(), 1.0);
      EXPECT_TRUE(a["mia"][attack].contains("privleak"));
    }
    EXPECT_EQ(a["probes"].size(), data::all_probe_types().size());
    EXPECT_TRUE(a["probes"]["multiple_choice"].contains("accuracy"));
    for (const char* key : {"repetition_rate", "distinct_1", "distinct_2"})
      EXPECT_TRUE(a["health"].contains(key)) << key;
    // ROUGE of each stored generation equals eval::rouge_l on the same strings.
    for (const auto& e : per["forget"]) {
      const auto s =
          eval::rouge_l(e["answer"].get<std::string>(), e["generation"].get<std::string>());
      EXPECT_DOUBLE_EQ(e["rouge_l_recall"].get<double>(), s.recall);
      EXPECT_DOUBLE_EQ(e["rouge_l_f"].get<double>(), s.fmeasure);
      EXPECT_EQ(e["perturbed_nlls"].size(),
                dataset_->wrong_details_for(e["id"])->perturbed_answers.size());
    }
  }
  // The same adapter twice gives identical results; the retain-only model is its own reference.
  EXPECT_EQ(models["a1"]["aggregates"], models["a2"]["aggregates"]);
  EXPECT_EQ(models["a1"]["per_example"], models["a2"]["per_example"]);
  EXPECT_DOUBLE_EQ(models["retain"]["aggregates"]["forget_quality"].get<double>(), 1.0);
  // PrivLeak against itself is 0, or null (undefined) when its own AUC is 0 on this tiny world.
  const auto& retain_loss = models["retain"]["aggregates"]["mia"]["loss"];
  if (retain_loss["auc"].get<double>() > 0)
    EXPECT_DOUBLE_EQ(retain_loss["privleak"].get<double>(), 0.0);
  else
    EXPECT_TRUE(retain_loss["privleak"].is_null());
  // The adapter changes the model.
  EXPECT_NE(models["base"]["per_example"]["forget"][0]["answer_nll"],
            models["a1"]["per_example"]["forget"][0]["answer_nll"]);
  // ICU: the same weights as base, another prompt.
  EXPECT_NE(models["base"]["per_example"]["forget"][0]["answer_nll"],
            models["icu"]["per_example"]["forget"][0]["answer_nll"]);

  // Independent recomputation of the truth ratio of a1's forget questions with token_logprobs.
  auto p =
      model::load_pretrained(c.model, torch::kFloat32, torch::kCPU, (root_ / "adapter_a").string());
  const auto& tok = *p.tokenizer;
  const auto mean_nll = [&](const std::string& q, const std::string& a) {
    const auto ids = tok.encode_qa(q, a);
    std::vector<int64_t> all = ids.prompt_ids;
    all.insert(all.end(), ids.answer_ids.begin(), ids.answer_ids.end());
    const auto t = torch::tensor(all, torch::kInt64).unsqueeze(0);
    auto loss_mask = torch::zeros_like(t);
    loss_mask.narrow(1, ids.prompt_ids.size(), ids.answer_ids.size()).fill_(1);
    torch::NoGradGuard ng;
    const auto lp = model::token_logprobs(p.model, t, torch::ones_like(t), loss_mask);
    return -(lp.sum().item<double>() / static_cast<double>(ids.answer_ids.size()));
  };
  // Teacher-forced argmax matches on the answer tokens, the end-of-turn token left out as
  // open-unlearning drops its final label; from one unbatched forward with full logits.
  const auto argmax_match = [&](const std::string& q, const std::string& a) {
    const auto ids = tok.encode_qa(q, a);
    std::vector<int64_t> all = ids.prompt_ids;
    all.insert(all.end(), ids.answer_ids.begin(), ids.answer_ids.end());
    torch::NoGradGuard ng;
    const auto logits = p.model->forward(torch::tensor(all, torch::kInt64).unsqueeze(0)).logits;
    std::vector<uint8_t> match;
    for (size_t j = 0; j + 1 < ids.answer_ids.size(); ++j) {
      const int64_t pos = static_cast<int64_t>(ids.prompt_ids.size() + j);
      match.push_back(logits[0][pos - 1].argmax().item<int64_t>() == all[pos]);
    }
    return match;
  };
  const auto& forget = models["a1"]["per_example"]["forget"];
  for (const auto& set : {"forget", "retain", "world"})
    for (const auto& e : models["a1"]["per_example"][set]) {
      SCOPED_TRACE(e["id"].get<std::string>());
      const auto match = argmax_match(e["question"], e["answer"]);
      EXPECT_DOUBLE_EQ(e["exact_memorization"].get<double>(), *eval::exact_memorization(match));
      EXPECT_DOUBLE_EQ(e["extraction_strength"].get<double>(), eval::extraction_strength(match));
    }
  for (size_t i = 0; i < 2; ++i) {
    const auto& e = forget[i];
    const auto* wd = dataset_->wrong_details_for(e["id"]);
    const double para = mean_nll(wd->question, wd->paraphrased_answer);
    std::vector<double> pert;
    for (const auto& x : wd->perturbed_answers) pert.push_back(mean_nll(wd->question, x));
    EXPECT_NEAR(e["paraphrased_nll"].get<double>(), para, 1e-4);
    EXPECT_CLOSE("perturbed_nlls", e["perturbed_nlls"].get<std::vector<double>>(), pert, 1e-4,
                 1e-5);
    EXPECT_NEAR(e["truth_ratio"].get<double>(), eval::truth_ratio(para, pert),
                1e-4 * eval::truth_ratio(para, pert));
    EXPECT_NEAR(e["answer_nll"].get<double>(), mean_nll(wd->question, wd->answer), 1e-4);
  }
}

TEST_F(EvaluatorE2E, AdapterDisabledEqualsBase) {
  auto p = model::load_pretrained((root_ / "model").string(), torch::kFloat32, torch::kCPU);
  eval::EvalOptions o;
  o.max_new_tokens = 6;
  o.batch_size = 3;
  o.limit = 2;
  eval::Evaluator ev(p.model, *p.tokenizer, p.eos_token_ids, *dataset_, o);
  const eval::ModelSpec base{"base", "", false, false};
  const auto before = ev.evaluate(base);
  const auto adapted = ev.evaluate({"a", (root_ / "adapter_a").string(), false, false});
  ASSERT_TRUE(model::has_lora(p.model));
  const auto after = ev.evaluate(base);  // adapter attached but disabled
  EXPECT_TRUE(model::has_lora(p.model));
  const auto j_before = ev.results_json({before});
  const auto j_after = ev.results_json({after});
  EXPECT_EQ(j_before, j_after);
  EXPECT_NE(ev.results_json({adapted})["a"]["per_example"]["forget"],
            j_before["base"]["per_example"]["forget"]);
  EXPECT_EQ(before.forget.size(), 2u);
  EXPECT_FALSE(j_before["base"]["aggregates"].contains("forget_quality"));
}

TEST_F(EvaluatorE2E, ScoringDoesNotDependOnBatching) {
  auto p = model::load_pretrained((root_ / "model").string(), torch::kFloat32, torch::kCPU);
  std::vector<model::ScoreRequest> reqs;
  for (size_t i = 0; i < 5; ++i) {
    const auto ids = p.tokenizer->encode_qa(dataset_->sr[i].question, dataset_->sr[i].answer);
    model::ScoreRequest r;
    r.ids = ids.prompt_ids;
    r.ids.insert(r.ids.end(), ids.answer_ids.begin(), ids.answer_ids.end());
    r.score_from = static_cast<int64_t>(ids.prompt_ids.size());
    reqs.push_back(r);
  }
  const auto one = eval::score_requests(p.model, reqs, 1, true, "t", nullptr);
  const auto many = eval::score_requests(p.model, reqs, 4, true, "t", nullptr);
  const auto ref = model::score_sequences(p.model, reqs, 2);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_CLOSE("logp", many[i].logp, one[i].logp, 1e-5, 1e-5);
    EXPECT_CLOSE("logp_ref", many[i].logp, ref[i], 1e-5, 1e-5);
    EXPECT_CLOSE("mu", many[i].mu, one[i].mu, 1e-5, 1e-5);
    EXPECT_CLOSE("sigma", many[i].sigma, one[i].sigma, 1e-5, 1e-5);
  }
}

TEST_F(EvaluatorE2E, BadInputIsAClearError) {
  auto c = base_config();
  c.options.limit = 1;
  c.out = (root_ / "bad.json").string();
  {  // adapter of another base model
    auto bad = c;
    bad.adapters = {(root_ / "adapter_other").string()};
    try {
      eval::run_evaluation(bad);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("adapter_other"), std::string::npos) << e.what();
    }
  }
  {  // forget quality without a retain-only model
    auto bad = c;
    bad.options.metrics = {"forget_quality"};
    EXPECT_THROW(eval::run_evaluation(bad), UsageError);
  }
  {  // unknown metric
    auto bad = c;
    bad.options.metrics = {"rouge_x"};
    EXPECT_THROW(eval::run_evaluation(bad), UsageError);
  }
  {  // malformed data file: file:line
    const fs::path data = root_ / "data_bad";
    fs::create_directories(data);
    for (const auto& entry : fs::directory_iterator(root_ / "data"))
      fs::copy_file(entry.path(), data / entry.path().filename(),
                    fs::copy_options::overwrite_existing);
    std::ofstream(data / "sf.jsonl", std::ios::app) << "{\"id\": \"broken\"\n";
    auto bad = c;
    bad.data = data.string();
    try {
      eval::run_evaluation(bad);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("sf.jsonl:"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(c.out));  // nothing written for a failed run
}

TEST_F(EvaluatorE2E, CommandLine) {
  const auto out = root_ / "cli.json";
  const std::string common = "eval --model " + (root_ / "model").string() + " --data " +
                             (root_ / "data").string() + " --max-new-tokens 4 --limit 2 --out " +
                             out.string();
  std::string output;
  EXPECT_EQ(test::run_lethe(common + " --metrics forget_quality", &output), 2) << output;
  EXPECT_NE(output.find("--retain-model"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_EQ(test::run_lethe(common + " --metrics rouge_l,answer_prob", &output), 0) << output;
  const auto r = core::read_json(out);
  const auto& a = r["models"]["base"]["aggregates"];
  EXPECT_TRUE(a["forget"].contains("rouge_l_recall"));
  EXPECT_FALSE(a["forget"].contains("truth_ratio"));
  EXPECT_FALSE(a.contains("mia"));
  EXPECT_EQ(r["models"]["base"]["per_example"]["forget"].size(), 2u);
  // A metric read from teacher forcing alone: no generation, only its keys.
  ASSERT_EQ(test::run_lethe(common + " --metrics exact_memorization", &output), 0) << output;
  const auto em = core::read_json(out);
  const auto& b = em["models"]["base"]["aggregates"];
  EXPECT_TRUE(b["forget"].contains("exact_memorization"));
  // (--limit 2 leaves retain_other empty, so no gap here; FullRunStructureAndInvariants checks it.)
  EXPECT_FALSE(b["forget"].contains("rouge_l_recall"));
  EXPECT_FALSE(b["forget"].contains("extraction_strength"));
  EXPECT_EQ(em["timing"]["generated_tokens"].get<int64_t>(), 0);
  const auto& row = em["models"]["base"]["per_example"]["forget"][0];
  EXPECT_TRUE(row.contains("exact_memorization"));
  EXPECT_FALSE(row.contains("rouge_l_recall"));
}

TEST(EvaluatorUnit, MultipleChoicePick) {
  const std::vector<std::string> opts = {"Paris", "Lyon", "Nice", "Metz"};
  EXPECT_EQ(eval::multiple_choice_pick("B", opts), "B");
  EXPECT_EQ(eval::multiple_choice_pick("(C) Nice", opts), "C");
  EXPECT_EQ(eval::multiple_choice_pick("The answer is D.", opts), "D");
  EXPECT_EQ(eval::multiple_choice_pick("A. Paris", opts), "A");
  EXPECT_EQ(eval::multiple_choice_pick("It was in Lyon", opts), "B");
  EXPECT_EQ(eval::multiple_choice_pick("Lyon or Nice", opts), "");
  EXPECT_EQ(eval::multiple_choice_pick("I do not know", opts), "");
}

TEST(EvaluatorUnit, ResolveMetrics) {
  const auto all = eval::resolve_metrics({}, false);
  EXPECT_FALSE(all.count("forget_quality"));
  EXPECT_TRUE(all.count("probes"));
  EXPECT_TRUE(eval::resolve_metrics({}, true).count("privleak"));
  const auto mu = eval::resolve_metrics({"model_utility"}, false);
  EXPECT_TRUE(mu.count("rouge_l") && mu.count("answer_prob") && mu.count("truth_ratio"));
  EXPECT_THROW(eval::resolve_metrics({"privleak"}, false), UsageError);
  EXPECT_TRUE(all.count("exact_memorization") && all.count("extraction_strength"));
  EXPECT_EQ(eval::resolve_metrics({"exact_memorization"}, false),
            std::set<std::string>({"exact_memorization"}));
}

}  // namespace
}  // namespace lethe
