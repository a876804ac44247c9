// SQLite table `responses(key PRIMARY KEY, request, response, created)` in WAL mode, one mutex.
#include "datagen/request_cache.h"

#include <sqlite3.h>

#include <ctime>

#include "core/error.h"
#include "core/sha256.h"

namespace lethe::datagen {

namespace {

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

void exec(sqlite3* db, const char* sql, const std::string& where) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    LETHE_FAIL(where, ": request cache: ", text);
  }
}

}  // namespace

RequestCache::RequestCache(const std::filesystem::path& path) : path_(path) {
  std::string name = path.empty() ? ":memory:" : path.string();
  if (!path.empty() && path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(name.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    LETHE_FAIL(name, ": cannot open the request cache: ", message);
  }
  sqlite3_busy_timeout(db_, 10000);
  exec(db_, "PRAGMA journal_mode=WAL;", name);
  exec(db_, "PRAGMA synchronous=NORMAL;", name);
  exec(db_,
       "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, request TEXT NOT NULL, "
       "response TEXT NOT NULL, created INTEGER NOT NULL);",
       name);
}

RequestCache::~RequestCache() { sqlite3_close(db_); }

std::string RequestCache::key_for(const nlohmann::json& canonical_request) {
  return core::sha256_hex(canonical_request.dump());
}

std::optional<nlohmann::json> RequestCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s;
  sqlite3_prepare_v2(db_, "SELECT response FROM responses WHERE key = ?1;", -1, &s.stmt, nullptr);
  LETHE_CHECK(s.stmt, path_.string(), ": request cache: ", sqlite3_errmsg(db_));
  sqlite3_bind_text(s.stmt, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s.stmt);
  if (rc == SQLITE_DONE) return std::nullopt;
  LETHE_CHECK(rc == SQLITE_ROW, path_.string(), ": request cache: ", sqlite3_errmsg(db_));
  const char* text = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
  auto parsed = nlohmann::json::parse(text ? text : "", nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;  // a damaged entry is a miss, not an error
  return parsed;
}

void RequestCache::put(const std::string& key, const nlohmann::json& request,
                       const nlohmann::json& response) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s;
  sqlite3_prepare_v2(db_,
                     "INSERT OR REPLACE INTO responses (key, request, response, created) "
                     "VALUES (?1, ?2, ?3, ?4);",
                     -1, &s.stmt, nullptr);
  LETHE_CHECK(s.stmt, path_.string(), ": request cache: ", sqlite3_errmsg(db_));
  std::string request_text = request.dump(), response_text = response.dump();
  sqlite3_bind_text(s.stmt, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 2, request_text.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 3, response_text.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.stmt, 4, static_cast<sqlite3_int64>(std::time(nullptr)));
  LETHE_CHECK(sqlite3_step(s.stmt) == SQLITE_DONE, path_.string(),
              ": request cache: cannot store a response: ", sqlite3_errmsg(db_));
}

int64_t RequestCache::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s;
  sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM responses;", -1, &s.stmt, nullptr);
  LETHE_CHECK(s.stmt && sqlite3_step(s.stmt) == SQLITE_ROW, path_.string(),
              ": request cache: ", sqlite3_errmsg(db_));
  return sqlite3_column_int64(s.stmt, 0);
}

}  // namespace lethe::datagen
