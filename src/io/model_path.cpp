// Model location: local folder or a model id in the offline Hugging Face hub cache.
#include "io/model_path.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lethe::io {
namespace fs = std::filesystem;

namespace {
std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}
}  // namespace

fs::path hf_hub_cache_dir() {
  // huggingface_hub's precedence (constants.py).
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (auto v = env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
  if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
  return fs::path(env("HOME")) / ".cache" / "huggingface" / "hub";
}

fs::path resolve_model_path(const std::string& path_or_id) {
  LETHE_CHECK(!path_or_id.empty(), "model path is empty");
  const fs::path local(path_or_id);
  if (fs::is_directory(local)) return local;
  LETHE_CHECK(!fs::exists(local), path_or_id,
              ": is a file; a model is a folder (config.json + "
              "weights) or a Hugging Face model id");

  // A model id is "name" or "org/name" with no other path syntax.
  const bool looks_like_id = path_or_id.find("//") == std::string::npos &&
                             std::count(path_or_id.begin(), path_or_id.end(), '/') <= 1 &&
                             path_or_id.front() != '/' && path_or_id.front() != '.' &&
                             path_or_id.back() != '/';
  LETHE_CHECK(looks_like_id, path_or_id, ": no such model folder");

  std::string repo_folder = "models--" + path_or_id;
  for (size_t pos = 0; (pos = repo_folder.find('/', pos)) != std::string::npos; pos += 2)
    repo_folder.replace(pos, 1, "--");
  const fs::path cache = hf_hub_cache_dir();
  const fs::path repo = cache / repo_folder;
  const fs::path snapshots = repo / "snapshots";
  const std::string tried = "not a local folder and not in the Hugging Face cache (looked for " +
                            snapshots.string() +
                            "; set HF_HUB_CACHE or HF_HOME, or download it with "
                            "`huggingface-cli download " +
                            path_or_id + "`)";
  LETHE_CHECK(fs::is_directory(snapshots), path_or_id, ": ", tried);

  const fs::path ref = repo / "refs" / "main";
  if (fs::is_regular_file(ref)) {
    const std::string revision = trim(core::read_file(ref));
    const fs::path snapshot = snapshots / revision;
    LETHE_CHECK(!revision.empty() && fs::is_directory(snapshot), path_or_id, ": ", ref.string(),
                " names revision '", revision, "' but ", snapshot.string(), " does not exist");
    return snapshot;
  }
  // No refs/main (e.g. downloaded by commit hash): the newest snapshot.
  fs::path best;
  fs::file_time_type best_time{};
  for (const auto& entry : fs::directory_iterator(snapshots)) {
    if (!entry.is_directory()) continue;
    auto time = fs::last_write_time(entry.path());
    if (best.empty() || time > best_time) best = entry.path(), best_time = time;
  }
  LETHE_CHECK(!best.empty(), path_or_id, ": ", snapshots.string(), " holds no snapshot");
  return best;
}

}  // namespace lethe::io
