// A minimal HTTP client over libcurl for JSON APIs: one POST with connect and total timeouts.
// It does not retry; transport failures throw TransportError so callers can decide (llm_client
// does).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/error.h"

namespace lethe::datagen {

struct HttpOptions {
  double connect_timeout_s = 10.0;
  double total_timeout_s = 120.0;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased ("retry-after")
  std::string body;
};

// A request that produced no HTTP response: the connection failed or a timeout expired.
class TransportError : public Error {
 public:
  enum class Kind { connection, timeout };
  TransportError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// POSTs `body` (Content-Type: application/json) with extra header lines ("Authorization: Bearer
// ..."). Header values are never logged or kept. Thread-safe (one curl handle per call).
HttpResponse http_post_json(const std::string& url, const std::string& body,
                            const std::vector<std::string>& headers, const HttpOptions& options);

}  // namespace lethe::datagen
