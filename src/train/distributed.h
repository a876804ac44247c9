// Scale-out on libtorch's c10d: the torchrun / Slurm environment (rank, world size, master), a Gloo
// process group over a TCPStore (CPU), and the data-parallel gradient all-reduce. Not here: sweep
// sharding (train/sweep.h uses the rank and world size only, no collectives).
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "train/adamw.h"

namespace lethe::train {

struct DistEnv {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string source =
      "none";  // "torchrun" (RANK/WORLD_SIZE), "slurm" (SLURM_PROCID/NTASKS), "none"
};

// RANK + WORLD_SIZE (torchrun) win over SLURM_PROCID + SLURM_NTASKS; MASTER_ADDR / MASTER_PORT
// (Slurm: MASTER_ADDR, else SLURM_LAUNCH_NODE_IPADDR). Throws lethe::Error naming the variable when
// a value is not an integer or rank is outside [0, world_size).
DistEnv dist_env_from(const std::function<std::optional<std::string>(const std::string&)>& getenv);
DistEnv detect_dist_env();

// Rows [begin, end) of a batch of `rows` that `rank` takes: contiguous, sizes differing by <= 1,
// together covering every row once.
std::pair<int64_t, int64_t> rank_slice(int64_t rows, int64_t rank, int64_t world_size);

// A c10d ProcessGroupGloo: rank 0 serves the TCPStore at master_addr:master_port, every rank
// connects (timeout), Gloo runs over TCP on master_addr's interface.
class ProcessGroup {
 public:
  explicit ProcessGroup(const DistEnv& env,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  // In-place sum over ranks (CPU tensors, contiguous).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0;
  int64_t world_size_ = 1;
};

// Data-parallel gradient: every rank's .grad() becomes sum_r w_r g_r / sum_r w_r, where w_r =
// `weight` of that rank (its slice's share of the loss normaliser: loss tokens for token-mean
// objectives such as grad_ascent / sft, examples for sequence-level ones such as npo). Then each
// rank holds the gradient of the whole batch. One flat all-reduce (gradients + weight).
void all_reduce_gradients(ProcessGroup& group, const NamedParameters& params, double weight);

// Whether c10d's Gloo backend can be used from this build (the headers and symbols are present).
bool c10d_available();

}  // namespace lethe::train
