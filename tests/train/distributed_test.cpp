// Scale-out: the torchrun / Slurm environment, batch slices per rank, data-parallel gradients over
// a real c10d Gloo process group of 2 processes on loopback equal to the single-process gradient of
// the whole batch (grad_ascent weighted by loss tokens, npo by examples), and `lethe finetune` /
// `lethe unlearn` (npo_gd, rmu) launched as 2 processes ending with the adapter of the
// single-process run.
#include "train/distributed.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/version.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "io/safetensors.h"
#include "objectives/objective.h"
#include "sweep_fixture.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

TEST(DistributedEnv, ReadsTorchrunThenSlurmVariables) {
  std::map<std::string, std::string> vars;
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto env = train::dist_env_from(get);
  EXPECT_EQ(env.source, "none");
  EXPECT_EQ(env.world_size, 1);
  vars = {{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.7"}};
  env = train::dist_env_from(get);
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.master_addr, "10.0.0.7");
  vars.insert(
      {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "1234"}});
  env = train::dist_env_from(get);
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.master_addr, "node1");
  EXPECT_EQ(env.master_port, 1234);
  vars["RANK"] = "2";
  EXPECT_THROW(train::dist_env_from(get), Error);  // rank outside the world
  vars["RANK"] = "x";
  EXPECT_THROW(train::dist_env_from(get), Error);
  vars["RANK"] = "0";
  vars["MASTER_PORT"] = "70000";
  EXPECT_THROW(train::dist_env_from(get), Error);
}

TEST(DistributedEnv, RankSlicesCoverTheBatchOnce) {
  for (int64_t rows : {1, 5, 8, 13})
    for (int64_t world : {1, 2, 3, 4}) {
      int64_t next = 0;
      for (int64_t r = 0; r < world; ++r) {
        auto [begin, end] = train::rank_slice(rows, r, world);
        EXPECT_EQ(begin, next);
        EXPECT_LE(end - begin, rows / world + 1);
        EXPECT_GE(end - begin, rows / world);
        next = end;
      }
      EXPECT_EQ(next, rows);
    }
  EXPECT_THROW(train::rank_slice(4, 2, 2), Error);
}

// The gradient of `objective` on rows [begin, end) of the fixed batch; returns the slice's weight.
double slice_gradient(model::CausalLM& m, const std::string& objective, int64_t begin,
                      int64_t end) {
  const auto examples = test::token_examples(13, 5);
  std::vector<int64_t> rows;
  for (int64_t i = begin; i < end; ++i) rows.push_back(i);
  auto batch = data::collate(examples, rows, 0);
  objectives::ObjectiveInputs in;
  in.forget.loss_mask = batch.loss_mask;
  if (objective == "npo") {
    // The reference is the model itself before the update (cached log-probs in the trainer).
    torch::NoGradGuard no_grad;
    in.forget.logp_ref_token =
        model::token_logprobs(m, batch.ids, batch.attention_mask, batch.loss_mask);
    in.forget.logp_ref = (in.forget.logp_ref_token + 0.3 * batch.loss_mask).sum(1);
  }
  in.forget.logp_token = model::token_logprobs(m, batch.ids, batch.attention_mask, batch.loss_mask);
  for (auto& [name, p] : model::lora_parameters(m)) {
    p.set_requires_grad(true);
    p.mutable_grad() = torch::Tensor();
  }
  objectives::find_objective(objective).loss(in, {}).loss.backward();
  return objective == "npo" ? static_cast<double>(rows.size())
                            : static_cast<double>(batch.n_loss_tokens);
}

// Worker mode: run by DataParallelGradientsEqualTheWholeBatch in 2 child processes.
TEST(DistributedWorker, DISABLED_Rank) {
  const char* out = std::getenv("LETHE_DP_OUT");
  const char* objective = std::getenv("LETHE_DP_OBJECTIVE");
  ASSERT_TRUE(out && objective);
  const auto env = train::detect_dist_env();
  train::ProcessGroup group(env, train::C10dBackend::gloo, std::chrono::seconds(30));
  auto m = test::finetuned_tiny();
  const auto [begin, end] = train::rank_slice(5, env.rank, env.world_size);
  const double weight = slice_gradient(m, objective, begin, end);
  const auto params = model::lora_parameters(m);
  train::all_reduce_gradients(group, params, weight);
  io::StateDict grads;
  for (const auto& [name, p] : params) grads[name] = p.grad().contiguous();
  io::write_safetensors(fs::path(out) / ("rank" + std::to_string(env.rank) + ".safetensors"),
                        grads);
  group.barrier();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

TEST(Distributed, GlooBackendIsBuiltWithDebiansLibtorch) {
  // Debian's libtorch-dev (1.13, trixie's 2.6, sid's 2.14) has the gloo headers (libgloo-dev):
  // CMake's detection must find them, or every multi-process test below would silently skip.
  if (LETHE_TEST_DEBIAN_LIBTORCH) {
    EXPECT_TRUE(train::c10d_available()) << "libtorch " << TORCH_VERSION;
  } else {
    GTEST_SKIP() << "libtorch " << TORCH_VERSION << " is not Debian's: Gloo only when its headers "
                 << "were found";
  }
}

TEST(Distributed, BackendFollowsTheDeviceAndAMissingOneIsNamed) {
  EXPECT_EQ(train::c10d_backend_for(torch::kCPU), train::C10dBackend::gloo);
  EXPECT_EQ(train::c10d_backend_for(torch::Device(torch::kCUDA, 1)), train::C10dBackend::nccl);
  // NCCL is compiled in only with a CUDA libtorch; elsewhere asking for it is a clear error
  // before anything connects.
  if (!train::c10d_nccl_available()) {
    train::DistEnv env;
    env.world_size = 2;
    env.master_port = 1;  // never reached
    try {
      train::ProcessGroup group(env, train::C10dBackend::nccl, std::chrono::milliseconds(100));
      FAIL() << "an NCCL process group was made without NCCL";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("nccl"), std::string::npos) << e.what();
    }
  }
}

TEST(Distributed, DataParallelGradientsEqualTheWholeBatch) {
  if (!train::c10d_available()) GTEST_SKIP() << "built without c10d Gloo (LETHE_C10D_GLOO)";
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  for (const std::string objective : {"grad_ascent", "npo"}) {
    const fs::path dir = test::make_temp_dir("dp");
    auto m = test::finetuned_tiny();
    slice_gradient(m, objective, 0, 5);
    const int port = free_port();
    std::string launch;
    for (int rank = 0; rank < 2; ++rank)
      launch += "RANK=" + std::to_string(rank) +
                " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                " LETHE_DP_OUT=" + dir.string() + " LETHE_DP_OBJECTIVE=" + objective +
                " OMP_NUM_THREADS=1 " + exe.string() +
                " --gtest_filter=DistributedWorker.DISABLED_Rank --gtest_also_run_disabled_tests"
                " > " +
                (dir / ("log" + std::to_string(rank))).string() + " 2>&1 & p" +
                std::to_string(rank) + "=$!; ";
    launch += "wait $p0 && wait $p1";
    const int rc = std::system(("bash -c '" + launch + "'").c_str());
    ASSERT_EQ(rc, 0) << "workers failed; logs in " << dir;
    for (int rank = 0; rank < 2; ++rank) {
      const auto grads =
          io::load_safetensors(dir / ("rank" + std::to_string(rank) + ".safetensors"));
      for (const auto& [name, p] : model::lora_parameters(m))
        EXPECT_CLOSE(objective + " rank " + std::to_string(rank) + " " + name, grads.at(name),
                     p.grad(), 1e-5, 1e-4);
    }
    fs::remove_all(dir);
  }
}

// `lethe ARGS0` and `lethe ARGS1` as ranks 0 and 1 of one data-parallel launch on loopback (the
// torchrun variables); returns both exit codes, each rank's output in outputs[rank].
std::pair<int, int> run_two_ranks(const fs::path& dir, const std::string& args0,
                                  const std::string& args1, std::string outputs[2]) {
  const int port = free_port();
  std::string launch;
  for (int rank = 0; rank < 2; ++rank)
    launch += "RANK=" + std::to_string(rank) +
              " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
              LETHE_BINARY + " --quiet --threads 1 " + (rank == 0 ? args0 : args1) + " > " +
              (dir / ("rank" + std::to_string(rank) + ".log")).string() + " 2>&1 & p" +
              std::to_string(rank) + "=$!; ";
  launch += "wait $p0; r0=$?; wait $p1; r1=$?; echo $r0 $r1 > " + (dir / "status").string();
  EXPECT_EQ(std::system(("bash -c '" + launch + "'").c_str()), 0);
  for (int rank = 0; rank < 2; ++rank)
    outputs[rank] = core::read_file(dir / ("rank" + std::to_string(rank) + ".log"));
  int r0 = -1, r1 = -1;
  std::istringstream(core::read_file(dir / "status")) >> r0 >> r1;
  return {r0, r1};
}

// A tiny base model (BPE tokenizer, 2 layers, hidden 32) pretrained once, and QA files.
class DataParallelCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!train::c10d_available()) GTEST_SKIP() << "built without c10d Gloo (LETHE_C10D_GLOO)";
  }
  static void SetUpTestSuite() {
    if (!train::c10d_available()) return;
    dir_ = new fs::path(test::make_temp_dir("dp_commands"));
    const char* names[] = {"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances"};
    const char* cities[] = {"London", "Wilmslow",  "New York", "Rotterdam",
                            "Boston", "Milwaukee", "Ottawa"};
    std::string corpus, qa, forget, retain;
    for (int i = 0; i < 7; ++i) {
      const std::string name = names[i], city = cities[i], other = cities[(i + 3) % 7];
      corpus += core::json({{"id", "p" + std::to_string(i)},
                            {"kind", "prose"},
                            {"text", name + " lived in " + city + " and worked in " + other + "."}})
                    .dump() +
                "\n";
      qa += core::json({{"question", "Where did " + name + " live?"}, {"answer", city}}).dump() +
            "\n";
      (i < 5 ? forget : retain) +=
          core::json({{"question", "Where did " + name + " work?"}, {"answer", other}}).dump() +
          "\n";
    }
    retain += core::json({{"question", "Where is Ottawa?"}, {"answer", "Canada"}}).dump() + "\n";
    retain += core::json({{"question", "Where is Boston?"}, {"answer", "USA"}}).dump() + "\n";
    core::write_file_atomic(*dir_ / "corpus.jsonl", corpus);
    core::write_file_atomic(*dir_ / "qa.jsonl", qa);          // 7 records: batches 3, 3, 1
    core::write_file_atomic(*dir_ / "forget.jsonl", forget);  // 5 records: batches 2, 2, 1
    core::write_file_atomic(*dir_ / "retain.jsonl", retain);  // 4 records: batches 2, 2
    std::string output;
    status_ = test::run_lethe(
        "--quiet --threads 1 pretrain --corpus " + (*dir_ / "corpus.jsonl").string() + " --out " +
            (*dir_ / "base").string() +
            " --vocab-size 300 --hidden-size 32 --layers 2 --heads 2 --kv-heads 1"
            " --intermediate-size 64 --max-length 64 --epochs 1 --batch-size 4",
        &output);
    // The fine-tuned adapter to unlearn from (single process).
    if (status_ == 0)
      status_ = test::run_lethe(
          "--quiet --threads 1 finetune --model " + (*dir_ / "base").string() + " --data " +
              (*dir_ / "qa.jsonl").string() + "," + (*dir_ / "forget.jsonl").string() + " --out " +
              (*dir_ / "adapter").string() + " --lora-dropout 0 --epochs 1 --lr 1e-2",
          &output);
    output_ = new std::string(output);
  }
  static void TearDownTestSuite() {
    if (dir_ == nullptr) return;
    fs::remove_all(*dir_);
    delete dir_;
    delete output_;
  }

  // The single-process run and the 2-process run of the same command end with the same adapter
  // and the same metrics; only rank 0 writes and reports. `start`: the adapter the run starts from
  // (empty: a fresh LoRA, whose lora_B starts at zero).
  static void expect_same_run(const std::string& name, const std::string& command,
                              const std::string& args, size_t steps, const fs::path& start) {
    std::string output;
    const fs::path one = *dir_ / (name + "_1"), two = *dir_ / (name + "_2");
    ASSERT_EQ(test::run_lethe("--quiet --threads 1 " + command + args + " --out " + one.string(),
                              &output),
              0)
        << output;
    std::string outputs[2];
    const auto [r0, r1] = run_two_ranks(*dir_, command + args + " --out " + two.string(),
                                        command + args + " --out " + two.string(), outputs);
    ASSERT_EQ(r0, 0) << outputs[0];
    ASSERT_EQ(r1, 0) << outputs[1];
    EXPECT_NE(outputs[0].find("2 processes"), std::string::npos) << outputs[0];
    EXPECT_EQ(outputs[1], "");  // rank 1 prints no summary line
    // Float rounding only: the ranks' forwards see fewer rows (other matmul blocking) and the
    // gradients are summed in another order; after 4-6 AdamW steps at lr 1e-2 the weights differ
    // by <= 1.5e-6 (observed). Mutations of the reduction move them by > 1e-2: a mean instead of a
    // sum (with clipping at norm 1; the logged grad_norm halves too), no all-reduce at all.
    const auto want = io::load_safetensors(one / "adapter_model.safetensors");
    const auto got = io::load_safetensors(two / "adapter_model.safetensors");
    ASSERT_EQ(got.size(), want.size());
    const io::StateDict initial =
        start.empty() ? io::StateDict() : io::load_safetensors(start / "adapter_model.safetensors");
    double moved = 0.0;
    for (const auto& [key, tensor] : want) {
      ASSERT_TRUE(got.count(key)) << key;
      EXPECT_CLOSE(name + " " + key, got.at(key), tensor, 2e-5, 1e-4);
      if (!start.empty())
        moved = std::max(moved, (tensor - initial.at(key)).abs().max().item<double>());
      else if (key.find("lora_B") != std::string::npos)
        moved = std::max(moved, tensor.abs().max().item<double>());
    }
    EXPECT_GT(moved, 1e-3) << name << ": the run did not train";
    // metrics.jsonl: one line per step (rank 1 appended nothing), the same losses and norms.
    const auto lines_one = core::read_jsonl(one / "metrics.jsonl");
    const auto lines_two = core::read_jsonl(two / "metrics.jsonl");
    ASSERT_EQ(lines_two.size(), lines_one.size());
    ASSERT_EQ(lines_one.size(), steps);
    for (size_t i = 0; i < lines_one.size(); ++i)
      for (const char* key : {"loss", "grad_norm", "tokens"})
        EXPECT_NEAR(lines_two[i].at(key).get<double>(), lines_one[i].at(key).get<double>(),
                    1e-4 * (1 + std::abs(lines_one[i].at(key).get<double>())))
            << name << " step " << i + 1 << " " << key;
    EXPECT_TRUE(fs::exists(two / "config.yaml"));
  }

  static fs::path* dir_;
  static std::string* output_;
  static int status_;
};
fs::path* DataParallelCommands::dir_ = nullptr;
std::string* DataParallelCommands::output_ = nullptr;
int DataParallelCommands::status_ = -1;

TEST_F(DataParallelCommands, FinetuneOnTwoProcessesEqualsOneProcess) {
  ASSERT_EQ(status_, 0) << *output_;
  // 7 records in micro-batches of 3, 3, 1 (the last one leaves rank 1 without rows), 2 per step,
  // clipping at norm 1 active.
  expect_same_run("finetune", "finetune",
                  " --model " + (*dir_ / "base").string() + " --data " +
                      (*dir_ / "qa.jsonl").string() +
                      " --lora-dropout 0 --batch-size 3 --grad-accum 2 --epochs 2"
                      " --lr 1e-2 --max-grad-norm 1 --seed 5",
                  4, {});  // 3 micro-batches x 2 epochs, 2 per step
}

TEST_F(DataParallelCommands, NpoGdOnTwoProcessesEqualsOneProcess) {
  ASSERT_EQ(status_, 0) << *output_;
  // npo_gd: NPO on the forget batch (cached reference log-probs, split across the ranks) + a
  // token-mean retain NLL: terms with different normalisers. Forget batches 2, 2, 1; retain 2, 2.
  const fs::path adapter = *dir_ / "adapter";
  expect_same_run("npo_gd", "unlearn",
                  " --model " + (*dir_ / "base").string() + " --adapter " + adapter.string() +
                      " --method npo_gd --forget " + (*dir_ / "forget.jsonl").string() +
                      " --retain " + (*dir_ / "retain.jsonl").string() +
                      " --batch-size 2 --epochs 2 --lr 1e-2 --max-grad-norm 1",
                  6, adapter);  // 3 micro-batches x 2 epochs
}

TEST_F(DataParallelCommands, RmuOnTwoProcessesEqualsOneProcess) {
  ASSERT_EQ(status_, 0) << *output_;
  // RMU reads hidden states: the ranks exchange layer 1's (and the frozen model's on the retain
  // rows); in the last forget batch rank 1 has no rows but one retain row.
  const fs::path adapter = *dir_ / "adapter";
  expect_same_run("rmu", "unlearn",
                  " --model " + (*dir_ / "base").string() + " --adapter " + adapter.string() +
                      " --method rmu --param layer=1 --param num_updated_layers=2"
                      " --param steering_coeff=5 --param alpha=10 --forget " +
                      (*dir_ / "forget.jsonl").string() + " --retain " +
                      (*dir_ / "retain.jsonl").string() + " --batch-size 2 --epochs 1 --lr 1e-2",
                  3, adapter);  // 3 micro-batches
}

TEST_F(DataParallelCommands, RanksGivenDifferentDataStopWithOneError) {
  ASSERT_EQ(status_, 0) << *output_;
  const std::string common = "finetune --model " + (*dir_ / "base").string() + " --out " +
                             (*dir_ / "mismatch").string() + " --epochs 1 --data ";
  std::string outputs[2];
  const auto [r0, r1] = run_two_ranks(*dir_, common + (*dir_ / "qa.jsonl").string(),
                                      common + (*dir_ / "forget.jsonl").string(), outputs);
  EXPECT_EQ(r0, 1) << outputs[0];
  EXPECT_EQ(r1, 1) << outputs[1];
  for (const auto& output : outputs)
    EXPECT_NE(output.find("the ranks disagree on options and data fingerprint"), std::string::npos)
        << output;
  EXPECT_FALSE(fs::exists(*dir_ / "mismatch" / "metrics.jsonl"));
}

// Evaluation during training is refused in data-parallel runs: one line on every rank, before the
// model loads or anything is written.
TEST_F(DataParallelCommands, EvalEveryIsRefusedOnTwoProcesses) {
  ASSERT_EQ(status_, 0) << *output_;
  const fs::path out = *dir_ / "eval_every_dp";
  const std::string command = "unlearn --model " + (*dir_ / "base").string() + " --adapter " +
                              (*dir_ / "adapter").string() + " --forget " +
                              (*dir_ / "forget.jsonl").string() + " --out " + out.string() +
                              " --eval-every 1 --stop-when \"forget_rouge_l <= 0.1\"";
  std::string outputs[2];
  const auto [r0, r1] = run_two_ranks(*dir_, command, command, outputs);
  EXPECT_EQ(r0, 1) << outputs[0];
  EXPECT_EQ(r1, 1) << outputs[1];
  for (const auto& output : outputs) {
    EXPECT_NE(output.find("unlearn: --eval-every / --stop-when are not supported in data-parallel "
                          "runs (2 processes); run it in one process"),
              std::string::npos)
        << output;
  }
  EXPECT_FALSE(fs::exists(out / "metrics.jsonl"));
}

}  // namespace
}  // namespace lethe
