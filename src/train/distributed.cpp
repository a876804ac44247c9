// torchrun / Slurm environment and the collectives of data-parallel training on a ProcessGroup
// (train/process_group.cpp): gradient sums, row gathers, consistency checks.
#include "train/distributed.h"

#include <cstdlib>

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

void sum_gradients(ProcessGroup& group, const NamedParameters& params) {
  // One flat fp64 buffer: [g_0, g_1, ..., defined_0, defined_1, ...], summed over ranks.
  std::vector<torch::Tensor> parts;
  std::vector<double> defined;
  for (const auto& [name, p] : params) {
    auto g = p.grad().defined() ? p.grad() : torch::zeros_like(p);
    parts.push_back(g.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
    defined.push_back(p.grad().defined() ? 1.0 : 0.0);
  }
  parts.push_back(torch::tensor(defined, torch::kFloat64));
  std::vector<torch::Tensor> flat = {torch::cat(parts).contiguous()};
  group.all_reduce_sum(flat);
  const int64_t n_params = static_cast<int64_t>(params.size());
  const auto defined_sum = flat[0].narrow(0, flat[0].size(0) - n_params, n_params);
  int64_t offset = 0, index = 0;
  for (const auto& [name, p] : params) {
    const int64_t n = p.numel();
    if (defined_sum[index++].item<double>() > 0) {
      auto g = flat[0].narrow(0, offset, n).reshape(p.sizes()).to(p.device(), p.scalar_type());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(g);
      } else {
        p.mutable_grad() = g;
      }
    }
    offset += n;
  }
}

std::vector<torch::Tensor> gather_rows(ProcessGroup& group, const std::vector<torch::Tensor>& local,
                                       int64_t begin, int64_t rows) {
  std::vector<torch::Tensor> parts;
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& t : local) {
    LETHE_CHECK(t.dim() >= 1 && begin >= 0 && begin + t.size(0) <= rows, "gather_rows: rows [",
                begin, ", ", begin + (t.dim() ? t.size(0) : 0), ") outside a tensor of ", rows,
                " rows");
    auto shape = t.sizes().vec();
    shape[0] = rows;
    auto whole = torch::zeros(shape, torch::kFloat32);
    whole.narrow(0, begin, t.size(0)).copy_(t.detach().to(torch::kCPU, torch::kFloat32));
    parts.push_back(whole.reshape({-1}));
    shapes.push_back(shape);
  }
  std::vector<torch::Tensor> flat = {torch::cat(parts).contiguous()};
  group.all_reduce_sum(flat);
  std::vector<torch::Tensor> result;
  int64_t offset = 0;
  for (size_t i = 0; i < local.size(); ++i) {
    const int64_t n = parts[i].numel(), end = begin + local[i].size(0);
    auto whole = flat[0]
                     .narrow(0, offset, n)
                     .reshape(shapes[i])
                     .to(local[i].device(), local[i].scalar_type());
    offset += n;
    result.push_back(
        torch::cat({whole.narrow(0, 0, begin), local[i], whole.narrow(0, end, rows - end)}, 0));
  }
  return result;
}

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

torch::Tensor pad_tokens(const torch::Tensor& x, int64_t T) {
  if (x.size(1) == T) return x;
  auto shape = x.sizes().vec();
  shape[1] = T - x.size(1);
  return torch::cat({x, torch::zeros(shape, x.options().requires_grad(false))}, 1);
}

std::vector<torch::Tensor> forward_rank_rows(
    ProcessGroup& group, const data::Batch& batch, const std::vector<data::Example>& examples,
    int64_t pad_id, const std::function<std::vector<torch::Tensor>(const data::Batch&)>& forward,
    const std::function<std::vector<torch::Tensor>(int64_t)>& empty) {
  const RankRows rows = rank_rows(batch, examples, pad_id, group);
  const int64_t T = batch.ids.size(1);
  std::vector<torch::Tensor> local;
  if (rows.local) {
    for (const auto& x : forward(*rows.local)) local.push_back(pad_tokens(x, T));
  } else {
    local = empty(T);
  }
  return gather_rows(group, local, rows.begin, batch.size());
}

void check_same_across_ranks(ProcessGroup& group,
                             const std::vector<std::pair<std::string, double>>& values) {
  std::vector<double> mine;
  for (const auto& [name, value] : values) mine.push_back(value);
  auto root = torch::tensor(mine, torch::kFloat64);
  group.broadcast(root, 0);
  std::vector<double> differs;
  std::string here;
  for (size_t i = 0; i < values.size(); ++i) {
    const double want = root[static_cast<int64_t>(i)].item<double>();
    differs.push_back(mine[i] != want ? 1.0 : 0.0);
    if (mine[i] != want)
      here += detail::concat(" (rank ", group.rank(), "'s ", values[i].first, " is ", mine[i],
                             ", rank 0's ", want, ")");
  }
  std::vector<torch::Tensor> count = {torch::tensor(differs, torch::kFloat64)};
  group.all_reduce_sum(count);
  std::string names;
  for (size_t i = 0; i < values.size(); ++i)
    if (count[0][static_cast<int64_t>(i)].item<double>() > 0)
      names += (names.empty() ? "" : ", ") + values[i].first;
  LETHE_CHECK(names.empty(), "data-parallel: the ranks disagree on ", names, here,
              "; every rank must be started with the same options, data, model and adapter");
}

std::unique_ptr<ProcessGroup> join_process_group_from_env(const c10::Device& device) {
  const DistEnv env = detect_dist_env();
  if (env.world_size <= 1) return nullptr;
  return std::make_unique<ProcessGroup>(env, c10d_backend_for(device));
}

}  // namespace lethe::train
