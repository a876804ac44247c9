// torchrun / Slurm environment, a c10d ProcessGroupGloo over a TCPStore, and the weighted gradient
// all-reduce of data-parallel training.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include "train/distributed.h"

#include <cstdlib>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"

namespace lethe::train {

namespace {

int64_t env_int(const std::string& name, const std::string& text) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  LETHE_CHECK(!text.empty() && *end == '\0', "environment variable ", name, "='", text,
              "' is not an integer");
  return v;
}

}  // namespace

DistEnv dist_env_from(const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  DistEnv env;
  std::string rank_var, size_var;
  if (getenv("RANK") && getenv("WORLD_SIZE")) {
    rank_var = "RANK", size_var = "WORLD_SIZE", env.source = "torchrun";
  } else if (getenv("SLURM_PROCID") && getenv("SLURM_NTASKS")) {
    rank_var = "SLURM_PROCID", size_var = "SLURM_NTASKS", env.source = "slurm";
  } else {
    return env;
  }
  env.rank = env_int(rank_var, *getenv(rank_var));
  env.world_size = env_int(size_var, *getenv(size_var));
  LETHE_CHECK(env.world_size >= 1, size_var, "=", env.world_size, " must be >= 1");
  LETHE_CHECK(env.rank >= 0 && env.rank < env.world_size, rank_var, "=", env.rank,
              " is outside [0, ", size_var, "=", env.world_size, ")");
  if (auto addr = getenv("MASTER_ADDR")) {
    env.master_addr = *addr;
  } else if (auto node = getenv("SLURM_LAUNCH_NODE_IPADDR"); node && env.source == "slurm") {
    env.master_addr = *node;
  }
  if (auto port = getenv("MASTER_PORT")) {
    env.master_port = env_int("MASTER_PORT", *port);
    LETHE_CHECK(env.master_port > 0 && env.master_port < 65536, "MASTER_PORT=", env.master_port,
                " is not a TCP port");
  }
  return env;
}

DistEnv detect_dist_env() {
  return dist_env_from([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
}

std::pair<int64_t, int64_t> rank_slice(int64_t rows, int64_t rank, int64_t world_size) {
  LETHE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "rank_slice: rank ", rank,
              " outside world size ", world_size);
  const int64_t base = rows / world_size, extra = rows % world_size;
  const int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistEnv& env, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), world_size_(env.world_size) {
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        impl_->store, static_cast<int>(env.rank), static_cast<int>(env.world_size), options);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    LETHE_FAIL("c10d: rank ", env.rank, "/", env.world_size,
               " could not join the process group at ", env.master_addr, ":", env.master_port, ": ",
               e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  impl_->group->allreduce(tensors, options)->wait();
}

void ProcessGroup::barrier() { impl_->group->barrier()->wait(); }

void all_reduce_gradients(ProcessGroup& group, const NamedParameters& params, double weight) {
  // One flat fp64 buffer: [w * g_0, w * g_1, ..., w], summed over ranks, then divided by sum w.
  std::vector<torch::Tensor> parts;
  for (const auto& [name, p] : params) {
    auto g = p.grad().defined() ? p.grad() : torch::zeros_like(p);
    parts.push_back(g.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}) * weight);
  }
  parts.push_back(torch::full({1}, weight, torch::kFloat64));
  std::vector<torch::Tensor> flat = {torch::cat(parts).contiguous()};
  group.all_reduce_sum(flat);
  const double total = flat[0][-1].item<double>();
  LETHE_CHECK(total > 0, "all_reduce_gradients: the ranks' weights sum to ", total);
  int64_t offset = 0;
  for (const auto& [name, p] : params) {
    const int64_t n = p.numel();
    auto g = (flat[0].slice(0, offset, offset + n) / total)
                 .reshape(p.sizes())
                 .to(p.device(), p.scalar_type());
    if (p.grad().defined()) {
      p.mutable_grad().copy_(g);
    } else {
      p.mutable_grad() = g;
    }
    offset += n;
  }
}

bool c10d_available() { return true; }

}  // namespace lethe::train
