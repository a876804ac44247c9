// ProcessGroup over c10d: a TCPStore, then ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA). CMake
// compiles in each backend only when its headers are there (LETHE_C10D_GLOO, LETHE_C10D_NCCL): Gloo
// with Debian's libtorch (libgloo-dev), NCCL with a CUDA libtorch; without one, asking for it throws.
#ifndef LETHE_C10D_GLOO  // set by CMake; a build without it guesses from the headers
#if __has_include(<gloo/algorithm.h>)
#define LETHE_C10D_GLOO 1
#else
#define LETHE_C10D_GLOO 0
#endif
#endif
#ifndef LETHE_C10D_NCCL
#define LETHE_C10D_NCCL 0
#endif
#if LETHE_C10D_GLOO && !defined(USE_C10D_GLOO)
#define USE_C10D_GLOO 1
#endif
#if LETHE_C10D_NCCL && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#include <cstdlib>

#include "core/error.h"
#include "core/torch_compat.h"
#include "train/distributed.h"
#if LETHE_C10D_GLOO || LETHE_C10D_NCCL
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if LETHE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if LETHE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lethe::train {

C10dBackend c10d_backend_for(const c10::Device& device) {
  return device.is_cuda() ? C10dBackend::nccl : C10dBackend::gloo;
}

const char* c10d_backend_name(C10dBackend backend) {
  return backend == C10dBackend::nccl ? "nccl" : "gloo";
}

bool c10d_available() { return LETHE_C10D_GLOO != 0; }
bool c10d_nccl_available() { return LETHE_C10D_NCCL != 0; }

#if LETHE_C10D_GLOO || LETHE_C10D_NCCL

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::C10dBackend> group;
};

namespace {

#if LETHE_C10D_GLOO
c10::intrusive_ptr<compat::C10dBackend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const DistEnv& env,
                                                  std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // Gloo binds to a local interface: GLOO_SOCKET_IFNAME when set (as PyTorch), loopback for a
  // loopback master, else the address this host's name resolves to (multi-node).
  const bool loopback = env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0;
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  else if (loopback)
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(env.rank),
                                                     static_cast<int>(env.world_size), options);
}
#endif

#if LETHE_C10D_NCCL
c10::intrusive_ptr<compat::C10dBackend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const DistEnv& env,
                                                  std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(env.rank),
                                                     static_cast<int>(env.world_size), options);
}
#endif

// torchrun's LOCAL_RANK: this process's GPU on its node (0 when unset: one process per node).
int64_t local_rank() {
  const char* text = std::getenv("LOCAL_RANK");
  if (!text || !*text) return 0;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  LETHE_CHECK(*end == '\0' && v >= 0, "environment variable LOCAL_RANK='", text,
              "' is not a non-negative integer");
  return v;
}

}  // namespace

ProcessGroup::ProcessGroup(const DistEnv& env, C10dBackend backend,
                           std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()),
      rank_(env.rank),
      world_size_(env.world_size),
      backend_(backend) {
  const bool built = backend == C10dBackend::nccl ? LETHE_C10D_NCCL : LETHE_C10D_GLOO;
  if (!built)
    LETHE_FAIL("c10d: rank ", env.rank, "/", env.world_size, ": this lethe was built without c10d's ",
               c10d_backend_name(backend), " backend (",
               backend == C10dBackend::nccl
                   ? "NCCL needs a CUDA libtorch with ProcessGroupNCCL; see LETHE_C10D_NCCL"
                   : "its libtorch ships no gloo headers; see LETHE_C10D_GLOO",
               " in docs/cluster.md), so it cannot run multi-process data parallelism");
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<size_t>(env.world_size);
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
#if LETHE_C10D_NCCL
    if (backend == C10dBackend::nccl) {
      device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank()));
      c10::cuda::set_device(device_.index());
      impl_->group = make_nccl(impl_->store, env, timeout);
    }
#endif
#if LETHE_C10D_GLOO
    if (backend == C10dBackend::gloo) impl_->group = make_gloo(impl_->store, env, timeout);
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    LETHE_FAIL("c10d: rank ", env.rank, "/", env.world_size, " could not join the ",
               c10d_backend_name(backend), " process group at ", env.master_addr, ":",
               env.master_port, ": ", e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  LETHE_CHECK(tensors.size() == 1, "all_reduce_sum: one tensor per call, got ", tensors.size());
  const c10::Device home = tensors[0].device();
  std::vector<torch::Tensor> here = {tensors[0].to(device_).contiguous()};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  impl_->group->allreduce(here, options)->wait();
  tensors[0] = home == device_ ? here[0] : here[0].to(home);
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int64_t root) {
  const c10::Device home = tensor.device();
  std::vector<torch::Tensor> here = {tensor.to(device_).contiguous()};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  impl_->group->broadcast(here, options)->wait();
  if (home == device_ && here[0].data_ptr() == tensor.data_ptr()) return;
  tensor.copy_(here[0]);
}

void ProcessGroup::barrier() { impl_->group->barrier()->wait(); }

#else  // no c10d backend in this build

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistEnv& env, C10dBackend backend, std::chrono::milliseconds)
    : rank_(env.rank), world_size_(env.world_size), backend_(backend) {
  LETHE_FAIL("c10d: rank ", env.rank, "/", env.world_size, ": this lethe was built without c10d's ",
             c10d_backend_name(backend),
             " backend (its libtorch ships no gloo headers and no ProcessGroupNCCL; see "
             "LETHE_C10D_GLOO in docs/cluster.md), so it cannot run multi-process data parallelism");
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<torch::Tensor>&) {
  LETHE_FAIL("c10d: built without a c10d backend");
}

void ProcessGroup::broadcast(torch::Tensor&, int64_t) {
  LETHE_FAIL("c10d: built without a c10d backend");
}

void ProcessGroup::barrier() { LETHE_FAIL("c10d: built without a c10d backend"); }

#endif

}  // namespace lethe::train
