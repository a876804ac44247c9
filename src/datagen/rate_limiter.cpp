// Token buckets (requests, tokens) and a concurrency cap behind one mutex and condition variable.
#include "datagen/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lethe::datagen {

TokenBucket::TokenBucket(double per_minute) {
  LETHE_CHECK(per_minute >= 0 && std::isfinite(per_minute),
              "rate limit must be a non-negative number, got ", per_minute);
  if (per_minute == 0) return;
  capacity_ = std::max(1.0, per_minute / 60.0);
  LETHE_CHECK(per_minute > capacity_, "rate limit ", per_minute,
              "/minute is too small (it must exceed 1 per minute)");
  rate_per_s_ = (per_minute - capacity_) / 60.0;
  level_ = capacity_;
  last_ = Clock::now();
}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  double dt = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(capacity_, level_ + dt * rate_per_s_);
  last_ = now;
}

double TokenBucket::wait_seconds(double cost, Clock::time_point now) {
  if (unlimited()) return 0;
  refill(now);
  double need = std::min(cost, capacity_);
  if (level_ >= need) return 0;
  return (need - level_) / rate_per_s_;
}

void TokenBucket::take(double cost, Clock::time_point now) {
  if (unlimited()) return;
  refill(now);
  level_ -= cost;
}

void TokenBucket::adjust(double delta) {
  if (unlimited()) return;
  level_ = std::min(capacity_, level_ + delta);
}

RateLimiter::RateLimiter(const RateLimits& limits)
    : limits_(limits), requests_(limits.requests_per_minute), tokens_(limits.tokens_per_minute) {
  LETHE_CHECK(limits.concurrency >= 1, "concurrency must be at least 1, got ", limits.concurrency);
}

RateLimiter::Permit RateLimiter::acquire(int64_t estimated_tokens) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (in_flight_ < limits_.concurrency) {
      auto now = TokenBucket::Clock::now();
      double wait = std::max(requests_.wait_seconds(1, now),
                             tokens_.wait_seconds(static_cast<double>(estimated_tokens), now));
      if (wait <= 0) {
        requests_.take(1, now);
        tokens_.take(static_cast<double>(estimated_tokens), now);
        ++in_flight_;
        return Permit(this, estimated_tokens);
      }
      // A small margin so that the refill has certainly happened when we wake up.
      cv_.wait_for(lock, std::chrono::duration<double>(wait + 1e-4));
    } else {
      cv_.wait(lock);
    }
  }
}

void RateLimiter::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
  }
  cv_.notify_all();
}

RateLimiter::Permit::~Permit() {
  if (owner_) owner_->release();
}

void RateLimiter::Permit::reconcile(int64_t actual_tokens) {
  if (!owner_ || actual_tokens <= 0) return;
  {
    std::lock_guard<std::mutex> lock(owner_->mutex_);
    owner_->tokens_.adjust(static_cast<double>(tokens_ - actual_tokens));
  }
  tokens_ = actual_tokens;
  owner_->cv_.notify_all();
}

int64_t estimate_tokens(size_t chars) { return static_cast<int64_t>((chars + 3) / 4); }

}  // namespace lethe::datagen
