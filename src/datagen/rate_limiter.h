// Client-side rate limiting for a paid API: token buckets for requests/minute and tokens/minute
// plus a cap on requests in flight. Thread-safe; callers block in acquire() until all three allow a
// request.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace lethe::datagen {

struct RateLimits {
  double requests_per_minute = 0;  // 0 = unlimited
  double tokens_per_minute = 0;    // 0 = unlimited (prompt + completion tokens)
  int concurrency = 4;             // requests in flight
};

// A token bucket sized so that no 60-second window ever admits more than `per_minute`: it holds
// burst = max(1, per_minute/60) units and refills at (per_minute - burst)/60 per second, so any
// window of W seconds admits at most burst + rate*W (= per_minute for W = 60).
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket() = default;
  explicit TokenBucket(double per_minute);

  bool unlimited() const { return rate_per_s_ <= 0 && capacity_ <= 0; }
  double capacity() const { return capacity_; }
  double rate_per_second() const { return rate_per_s_; }
  // Seconds until `cost` can be taken (0 = now). A cost above the capacity waits for a full bucket.
  double wait_seconds(double cost, Clock::time_point now);
  void take(double cost, Clock::time_point now);
  // Returns (or charges, when negative) units after the fact: usage reported by the server.
  void adjust(double delta);

 private:
  void refill(Clock::time_point now);
  double capacity_ = 0;
  double rate_per_s_ = 0;
  double level_ = 0;
  Clock::time_point last_{};
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimits& limits);

  // Held for the duration of one HTTP request; releases its concurrency slot when destroyed.
  class Permit {
   public:
    Permit(RateLimiter* owner, int64_t tokens) : owner_(owner), tokens_(tokens) {}
    Permit(Permit&& other) noexcept : owner_(other.owner_), tokens_(other.tokens_) {
      other.owner_ = nullptr;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    Permit& operator=(Permit&&) = delete;
    ~Permit();
    // The server's count of tokens for this request replaces the estimate it was admitted with.
    void reconcile(int64_t actual_tokens);

   private:
    RateLimiter* owner_;
    int64_t tokens_;
  };

  // Blocks until a request of `estimated_tokens` may start.
  Permit acquire(int64_t estimated_tokens);

  const RateLimits& limits() const { return limits_; }

 private:
  void release();
  RateLimits limits_;
  std::mutex mutex_;
  std::condition_variable cv_;
  TokenBucket requests_;
  TokenBucket tokens_;
  int in_flight_ = 0;
};

// Rough token count of a text before the server tells us: ~4 characters per token.
int64_t estimate_tokens(size_t chars);

}  // namespace lethe::datagen
