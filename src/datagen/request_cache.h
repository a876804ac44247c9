// A persistent cache of validated LLM responses (SQLite), keyed by the sha256 of the canonical
// request, so an interrupted generation restarts without repeating paid calls. It never stores
// credentials.
#pragma once
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

struct sqlite3;

namespace lethe::datagen {

class RequestCache {
 public:
  // Opens (creating) the database; an empty path gives an in-memory cache that lasts this process.
  explicit RequestCache(const std::filesystem::path& path);
  ~RequestCache();
  RequestCache(const RequestCache&) = delete;
  RequestCache& operator=(const RequestCache&) = delete;

  // sha256 of the request's canonical JSON (keys sorted, no whitespace).
  static std::string key_for(const nlohmann::json& canonical_request);

  std::optional<nlohmann::json> get(const std::string& key);
  // Stores (or replaces) the response for `key`; committed before returning.
  void put(const std::string& key, const nlohmann::json& request, const nlohmann::json& response);
  int64_t size();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace lethe::datagen
