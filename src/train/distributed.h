// Scale-out on libtorch's c10d: the torchrun / Slurm environment (rank, world size, master), a Gloo
// (CPU) or NCCL (CUDA) process group over a TCPStore, and the collectives of data-parallel training (row gather,
// gradient sum, consistency check). Not here: sweep sharding (train/sweep.h uses the rank and world
// size only, no collectives); where the trainer calls these (train/trainer.cpp).
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

#include "data/batching.h"
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

// The c10d backend of a process group: Gloo for CPU training, NCCL for CUDA (as torchrun's
// "cpu:gloo,cuda:nccl" default).
enum class C10dBackend { gloo, nccl };
// NCCL when `device` is CUDA, Gloo otherwise.
C10dBackend c10d_backend_for(const c10::Device& device);
const char* c10d_backend_name(C10dBackend backend);

// A c10d process group (train/process_group.cpp): rank 0 serves the TCPStore at
// master_addr:master_port, every rank connects (timeout). Gloo runs over TCP on GLOO_SOCKET_IFNAME's
// interface when set, loopback for a loopback master, else the address the host name resolves to.
// NCCL runs on cuda:LOCAL_RANK (torchrun's variable; 0 when unset), which it makes current.
class ProcessGroup {
 public:
  // `timeout` bounds the wait for the other ranks to join and every collective.
  explicit ProcessGroup(const DistEnv& env, C10dBackend backend = C10dBackend::gloo,
                        std::chrono::milliseconds timeout = std::chrono::seconds(300));
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  C10dBackend backend() const { return backend_; }
  // Where the backend's collectives run: the CPU for Gloo, this rank's GPU for NCCL.
  c10::Device device() const { return device_; }
  // In-place sum over ranks of one contiguous tensor (c10d sums the entries of `tensors` together,
  // one per local device, so exactly one is accepted). A tensor elsewhere than device() travels
  // there and back.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // Rank `root`'s tensor into every rank's (one contiguous tensor, same shape on every rank).
  void broadcast(torch::Tensor& tensor, int64_t root = 0);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0;
  int64_t world_size_ = 1;
  C10dBackend backend_ = C10dBackend::gloo;
  c10::Device device_ = c10::kCPU;
};

// Data-parallel gradient: every rank's .grad() becomes sum_r w_r g_r / sum_r w_r, where w_r =
// `weight` of that rank (its slice's share of the loss normaliser: loss tokens for token-mean
// objectives such as grad_ascent / sft, examples for sequence-level ones such as npo). Then each
// rank holds the gradient of the whole batch. One flat all-reduce (gradients + weight).
void all_reduce_gradients(ProcessGroup& group, const NamedParameters& params, double weight);

// Every rank's .grad() becomes the sum of the ranks' gradients (an undefined gradient counts as
// zero and stays undefined only when it is undefined on every rank). The data-parallel trainer's
// reduction: each rank's gradient is already its rows' share of the whole batch's loss.
void sum_gradients(ProcessGroup& group, const NamedParameters& params);

// Data-parallel rows: each local[i] is rows [begin, begin + local[i].size(0)) of a tensor of `rows`
// rows (every rank holds its own rows; the trailing shapes agree on every rank). Returns the whole
// tensors: this rank's rows are local[i] itself (autograd flows through them), the other ranks'
// rows are constants. One all-reduce for the whole list (transported as fp32, exact).
std::vector<torch::Tensor> gather_rows(ProcessGroup& group, const std::vector<torch::Tensor>& local,
                                       int64_t begin, int64_t rows);

// Data parallel: the rows [begin, end) of a batch this rank takes (rank_slice), collated alone from
// `examples` (unset when the rank has none).
struct RankRows {
  int64_t begin = 0, end = 0;
  std::optional<data::Batch> local;
};
RankRows rank_rows(const data::Batch& batch, const std::vector<data::Example>& examples,
                   int64_t pad_id, const ProcessGroup& group);

// [b, t, ...] -> [b, T, ...], zero-padded along the token axis (differentiable).
torch::Tensor pad_tokens(const torch::Tensor& x, int64_t T);

// A forward of the whole batch in data parallel: `forward` runs on this rank's rows (rank_rows)
// and returns tensors [b, t, ...]; each is padded to the batch's T and gathered (gather_rows) into
// [B, T, ...], this rank's rows carrying autograd, the other ranks' constants. A rank without rows
// runs nothing and contributes `empty(T)`: the same tensors with 0 rows (their dtype and device).
std::vector<torch::Tensor> forward_rank_rows(
    ProcessGroup& group, const data::Batch& batch, const std::vector<data::Example>& examples,
    int64_t pad_id, const std::function<std::vector<torch::Tensor>(const data::Batch&)>& forward,
    const std::function<std::vector<torch::Tensor>(int64_t)>& empty);

// Throws the same lethe::Error on every rank when any rank's value differs from rank 0's: the
// message names each disagreeing value (`values`: name, value exactly representable as a double).
void check_same_across_ranks(ProcessGroup& group,
                             const std::vector<std::pair<std::string, double>>& values);

// The process group of a multi-process launch (detect_dist_env(): torchrun or Slurm variables), or
// nullptr for a single process (world size 1, or no variables); its backend follows `device`
// (c10d_backend_for).
std::unique_ptr<ProcessGroup> join_process_group_from_env(const c10::Device& device = c10::kCPU);

// Whether c10d's Gloo backend can be used from this build (the headers and symbols are present).
bool c10d_available();
// Whether c10d's NCCL backend was compiled in (a CUDA libtorch with ProcessGroupNCCL).
bool c10d_nccl_available();

}  // namespace lethe::train
