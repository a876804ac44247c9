// The inspect / generate / score commands on the fixture model (token-id input; no tokenizer
// there), batched scoring, and their one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/atomic_file.h"
#include "crash_test_util.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/generate.h"
#include "model/pretrained.h"
#include "model/sequence_scores.h"
#include "model_test_util.h"

namespace lethe {
namespace {

using json = nlohmann::json;
using test::tiny_reference;

std::string tiny_dir() { return test::fixture_path("qwen2-tiny"); }

std::vector<json> parse_jsonl(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
  return out;
}

std::string write_temp(const std::string& tag, const std::string& content) {
  auto dir = std::filesystem::path(test::make_temp_dir(tag));
  core::write_file_atomic(dir / "in.jsonl", content);
  return (dir / "in.jsonl").string();
}

std::string ids_csv(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

// A checkpoint that lacks a tensor (or holds one the model does not use) was listed without a word;
// inspect now names it, and exits 1 since lethe cannot load such a checkpoint.
TEST(ModelCommands, InspectNamesMissingAndUnexpectedTensors) {
  const std::filesystem::path dir = test::make_temp_dir("inspect_keys");
  auto write_model = [&](const std::string& name, const std::function<void(io::StateDict&)>& edit) {
    const auto folder = dir / name;
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(std::filesystem::path(tiny_dir()) / "config.json",
                               folder / "config.json");
    io::StateDict weights =
        io::load_safetensors(std::filesystem::path(tiny_dir()) / "model.safetensors");
    edit(weights);
    io::write_safetensors(folder / "model.safetensors", weights);
    return folder.string();
  };
  const std::string missing = "model.layers.1.mlp.up_proj.weight";
  const std::string lacking =
      write_model("lacking", [&](io::StateDict& w) { ASSERT_EQ(w.erase(missing), 1u); });
  std::string output;
  EXPECT_EQ(test::run_lethe("inspect " + lacking, &output), 1) << output;
  EXPECT_NE(output.find("  missing  " + missing + "\n"), std::string::npos) << output;
  EXPECT_NE(output.find("lethe: error: " + lacking +
                        ": the weights do not match config.json, lethe cannot load them: 1 "
                        "missing tensor (" +
                        missing + ")\n"),
            std::string::npos)
      << output;
  EXPECT_EQ(test::run_lethe("inspect --json " + lacking, &output), 1) << output;
  const size_t open = output.find('{');
  const json info = json::parse(output.substr(open, output.rfind('}') + 1 - open));
  EXPECT_EQ(info["weights"]["missing"], json::array({missing}));
  EXPECT_EQ(info["weights"]["tensors"], 25);  // of the fixture's 26

  const std::string extra = write_model("extra", [](io::StateDict& w) {
    w["model.layers.2.mlp.up_proj.weight"] = torch::zeros({176, 64});
  });
  EXPECT_EQ(test::run_lethe("inspect " + extra, &output), 1) << output;
  EXPECT_NE(output.find("  unexpected  model.layers.2.mlp.up_proj.weight\n"), std::string::npos)
      << output;
  EXPECT_NE(output.find("1 unexpected tensor (model.layers.2.mlp.up_proj.weight)"),
            std::string::npos)
      << output;
  // The fixture itself matches its config.
  EXPECT_EQ(test::run_lethe("inspect " + tiny_dir(), &output), 0) << output;
  EXPECT_EQ(output.find("missing"), std::string::npos) << output;
  std::filesystem::remove_all(dir);
}

TEST(ModelCommands, InspectReportsArchitectureAndParameters) {
  std::string output;
  ASSERT_EQ(test::run_lethe("inspect " + tiny_dir(), &output), 0) << output;
  EXPECT_NE(output.find("Qwen2ForCausalLM"), std::string::npos) << output;
  EXPECT_NE(output.find("tokenizer    none"), std::string::npos) << output;
  ASSERT_EQ(test::run_lethe("inspect --json " + tiny_dir() + " --adapter " +
                                test::fixture_path("qwen2-tiny-lora"),
                            &output),
            0)
      << output;
  json info = json::parse(output.substr(output.find('{')));
  EXPECT_EQ(info["weights"]["parameters"], info["expected_parameters"]);
  EXPECT_EQ(info["config"]["num_hidden_layers"], 2);
  EXPECT_EQ(info["adapter"]["r"], 4);
  EXPECT_EQ(info["adapter"]["modules"], 14);
}

// --threads above the available cores: a one-line warning first, then the command runs
// (core::setup_threads caps the count; Runtime.SetupThreadsCapsAtTheAvailableCores checks the cap).
TEST(ModelCommands, ThreadsAboveTheCoresWarnsThenRuns) {
  const auto r = test::run_lethe_child({"--threads", "100000", "inspect", tiny_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("lethe: warning: --threads 100000 is more than the ", 0), 0u)
      << r.output;
  EXPECT_NE(r.output.find("Qwen2ForCausalLM"), std::string::npos) << r.output;
}

TEST(ModelCommands, GenerateFromIdsMatchesReferenceGreedy) {
  const auto& seqs = tiny_reference()["sequences"];
  std::string output;
  ASSERT_EQ(test::run_lethe("generate " + tiny_dir() + " --max-new-tokens 12 --prompt-ids " +
                                ids_csv(test::json_ids(seqs[0]["input_ids"])),
                            &output),
            0)
      << output;
  auto records = parse_jsonl(output);
  ASSERT_EQ(records.size(), 1u) << output;
  EXPECT_EQ(records[0]["new_ids"], seqs[0]["greedy"]["new_tokens"]);
  EXPECT_EQ(records[0]["stop_reason"], "length");

  std::string input;
  for (const auto& s : seqs)
    input += json{{"id", s["index"]}, {"prompt_ids", s["input_ids"]}}.dump() + "\n";
  auto path = write_temp("gen", input);
  ASSERT_EQ(test::run_lethe(
                "generate " + tiny_dir() + " --max-new-tokens 12 --batch-size 2 --jsonl " + path,
                &output),
            0)
      << output;
  records = parse_jsonl(output);
  ASSERT_EQ(records.size(), seqs.size()) << output;
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(records[i]["id"], seqs[i]["index"]);
    EXPECT_EQ(records[i]["new_ids"], seqs[i]["greedy"]["new_tokens"]) << "record " << i;
  }
}

TEST(ModelCommands, GenerateWithAdapterMatchesPeftReference) {
  const auto lora_ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  const auto& seq = lora_ref["sequences"][2];
  std::string output;
  ASSERT_EQ(
      test::run_lethe(
          "generate " + tiny_dir() + " --adapter " + test::fixture_path("qwen2-tiny-lora") +
              " --max-new-tokens 12 --prompt-ids " + ids_csv(test::json_ids(seq["input_ids"])),
          &output),
      0)
      << output;
  auto records = parse_jsonl(output);
  ASSERT_EQ(records.size(), 1u) << output;
  EXPECT_EQ(records[0]["new_ids"], seq["greedy"]["new_tokens"]);
}

TEST(ModelCommands, ScoreIdsAndPromptCompletion) {
  const auto& seqs = tiny_reference()["sequences"];
  std::string input;
  for (const auto& s : seqs) input += json{{"ids", s["input_ids"]}}.dump() + "\n";
  auto ids2 = test::json_ids(seqs[2]["input_ids"]);
  std::vector<int64_t> prompt(ids2.begin(), ids2.begin() + 20),
      completion(ids2.begin() + 20, ids2.end());
  input += json{{"id", "pc"}, {"prompt_ids", prompt}, {"completion_ids", completion}}.dump() + "\n";
  auto path = write_temp("score", input);
  const auto out_path = std::filesystem::path(path).parent_path() / "out.jsonl";
  std::string output;
  ASSERT_EQ(test::run_lethe("score " + tiny_dir() + " --batch-size 2 --jsonl " + path + " --out " +
                                out_path.string(),
                            &output),
            0)
      << output;
  auto records = core::read_jsonl(out_path);
  ASSERT_EQ(records.size(), 4u);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const auto& r = records[i];
    EXPECT_EQ(r["ids"], seqs[i]["input_ids"]);
    EXPECT_NEAR(r["sum_nll"].get<double>(), -seqs[i]["logprob_sum"].get<double>(), 1e-3);
    EXPECT_NEAR(r["mean_nll"].get<double>(),
                r["sum_nll"].get<double>() / r["num_scored"].get<double>(), 1e-9);
    EXPECT_CLOSE("score token_logprobs", r["token_logprobs"].get<std::vector<double>>(),
                 seqs[i]["token_logprobs"].get<std::vector<double>>(), 1e-4);
  }
  const auto& pc = records[3];
  EXPECT_EQ(pc["id"], "pc");
  EXPECT_EQ(pc["num_scored"], completion.size());
  auto want = seqs[2]["token_logprobs"].get<std::vector<double>>();  // index t-1 for position t
  EXPECT_CLOSE("completion logprobs", pc["token_logprobs"].get<std::vector<double>>(),
               std::vector<double>(want.begin() + 19, want.end()), 1e-4);
}

TEST(ModelCommands, ScoreSequencesBatchedEqualsAlone) {
  auto model = test::load_tiny();
  const auto& seqs = tiny_reference()["sequences"];
  std::vector<model::ScoreRequest> requests;
  for (const auto& s : seqs) requests.push_back({test::json_ids(s["input_ids"]), 1});
  requests.push_back({test::json_ids(seqs[1]["input_ids"]), 9});
  auto batched = model::score_sequences(model, requests, /*batch_size=*/3);
  for (size_t i = 0; i < requests.size(); ++i) {
    auto alone = model::score_sequences(model, {requests[i]}, 1);
    EXPECT_EQ(batched[i].size(), requests[i].ids.size() - requests[i].score_from);
    EXPECT_CLOSE("batched score " + std::to_string(i), batched[i], alone[0], 2e-5);
  }
}

TEST(ModelCommands, BadInputGivesOneLineErrors) {
  std::string output;
  auto path = write_temp("bad", "{\"text\": \"hello\"}\n");
  EXPECT_EQ(test::run_lethe("score " + tiny_dir() + " --jsonl " + path, &output), 1);
  EXPECT_NE(output.find("no tokenizer.json"), std::string::npos) << output;
  path = write_temp("bad", "{\"ids\": [1, 2]}\n{\"ids\": [1, 999]}\n");
  EXPECT_EQ(test::run_lethe("score " + tiny_dir() + " --jsonl " + path, &output), 1);
  EXPECT_NE(output.find("in.jsonl:2: field 'ids' holds token id 999"), std::string::npos) << output;
  path = write_temp("bad", "{\"prompt_ids\": [1, 2]}\n");
  EXPECT_EQ(test::run_lethe("score " + tiny_dir() + " --jsonl " + path, &output), 1);
  EXPECT_NE(output.find("give both 'prompt_ids' and 'completion_ids'"), std::string::npos)
      << output;
  path = write_temp("bad", "{\"ids\": " + json(std::vector<int64_t>(300, 1)).dump() + "}\n");
  EXPECT_EQ(test::run_lethe("score " + tiny_dir() + " --jsonl " + path, &output), 1);
  EXPECT_NE(output.find("max_position_embeddings (256)"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe("generate " + tiny_dir() + " --prompt hello", &output), 1);
  EXPECT_NE(output.find("no tokenizer.json"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe("generate " + tiny_dir() + " --prompt-ids 1,x", &output), 2);
  EXPECT_EQ(test::run_lethe("generate " + tiny_dir(), &output), 2);
  EXPECT_EQ(test::run_lethe("inspect /nonexistent/model", &output), 1);
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

// A random-weight model with the real Qwen tokenizer's vocabulary, for the text paths of the
// commands.
std::string write_text_model() {
  auto dir = std::filesystem::path(test::make_temp_dir("textmodel"));
  auto config = model::ModelConfig::from_file(test::fixture_path("qwen2-tiny/config.json"));
  config.vocab_size = 151665;
  config.hidden_size = 16;
  config.intermediate_size = 32;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 1;
  config.head_dim = 8;
  config.max_position_embeddings = 512;
  torch::manual_seed(5);
  model::CausalLM m(config);
  io::StateDict weights;
  for (const auto& p : m->named_parameters()) weights[p.key()] = p.value().detach();
  io::save_state_dict(dir, weights);
  core::write_json(dir / "config.json", config.to_json());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(test::fixture_path(std::string("qwen-tokenizer/") + f), dir / f);
  return dir.string();
}

TEST(ModelCommands, TextPromptsGoThroughTheTokenizerAndChatTemplate) {
  const std::string dir = write_text_model();
  auto p = model::load_pretrained(dir, torch::kFloat32, torch::kCPU);
  ASSERT_TRUE(p.tokenizer.has_value());
  const auto im_end = p.tokenizer->im_end_id();
  ASSERT_TRUE(im_end.has_value());
  EXPECT_NE(std::find(p.eos_token_ids.begin(), p.eos_token_ids.end(), *im_end),
            p.eos_token_ids.end());
  // The command's ids for a chat prompt are the tokenizer's chat rendering, and greedy output
  // equals the library's.
  std::string output;
  ASSERT_EQ(
      test::run_lethe(
          "generate " + dir + " --prompt 'Hello there' --chat --json --max-new-tokens 5", &output),
      0)
      << output;
  auto records = parse_jsonl(output);
  ASSERT_EQ(records.size(), 1u) << output;
  auto want_prompt = p.tokenizer->encode_chat({{"user", "Hello there"}}, true);
  EXPECT_EQ(records[0]["prompt_ids"].get<std::vector<int64_t>>(), want_prompt);
  model::GenerateOptions g;
  g.max_new_tokens = 5;
  g.eos_token_ids = p.eos_token_ids;
  auto want = model::generate(p.model, {want_prompt}, g);
  EXPECT_EQ(records[0]["new_ids"].get<std::vector<int64_t>>(), want.tokens[0]);
  EXPECT_EQ(records[0]["completion"], p.tokenizer->decode(want.tokens[0], true));
  // score: prompt + completion text, only the completion scored.
  auto path = write_temp(
      "textscore", "{\"prompt\": \"The capital of France is\", \"completion\": \" Paris.\"}\n");
  ASSERT_EQ(test::run_lethe("score " + dir + " --jsonl " + path, &output), 0) << output;
  records = parse_jsonl(output);
  ASSERT_EQ(records.size(), 1u) << output;
  auto completion = p.tokenizer->encode(" Paris.");
  EXPECT_EQ(records[0]["completion_ids"].get<std::vector<int64_t>>(), completion);
  EXPECT_EQ(records[0]["num_scored"], completion.size());
  ASSERT_EQ(test::run_lethe("inspect " + dir, &output), 0) << output;
  EXPECT_NE(output.find("chat template yes"), std::string::npos) << output;
  std::filesystem::remove_all(dir);
}

TEST(ModelCommands, HelpShowsDefaults) {
  std::string output;
  ASSERT_EQ(test::run_lethe("generate --help", &output), 0);
  EXPECT_NE(output.find("--max-new-tokens"), std::string::npos);
  EXPECT_NE(output.find("128"), std::string::npos) << output;
  EXPECT_NE(output.find("float32"), std::string::npos) << output;
  ASSERT_EQ(test::run_lethe("score --help", &output), 0);
  EXPECT_NE(output.find("16"), std::string::npos) << output;
}

}  // namespace
}  // namespace lethe
