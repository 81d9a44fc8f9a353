#pragma once

#include <algorithm>
#include <cstdint>

namespace sy::core {

// A token bucket (RFC 2697's single-rate idea, as nginx's limit_req and HAProxy's rate limits
// use it): tokens flow in at `rate` per second up to `burst`; each admitted event takes one. A
// new bucket starts full, so a client may send `burst` requests at once, then `rate` a second.
//
// Time is passed in (monotonic nanoseconds), never read here: the caller uses the loop's clock,
// tests use a clock of their own. Rate and burst are passed on every call, so a reload that
// changes them applies to buckets already in the table.
class TokenBucket {
 public:
  TokenBucket(double burst, uint64_t now_ns) : tokens_(burst), last_ns_(now_ns) {}

  // Takes one token if there is one. Otherwise returns false and sets `*wait_ns` to how long
  // until one is there.
  bool take(double rate, double burst, uint64_t now_ns, uint64_t* wait_ns) {
    refill(rate, burst, now_ns);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return true;
    }
    if (wait_ns != nullptr) {
      *wait_ns = rate > 0 ? static_cast<uint64_t>((1.0 - tokens_) / rate * 1e9) + 1 : UINT64_MAX;
    }
    return false;
  }

  double tokens(double rate, double burst, uint64_t now_ns) {
    refill(rate, burst, now_ns);
    return tokens_;
  }

 private:
  void refill(double rate, double burst, uint64_t now_ns) {
    // A clock that went backwards (it should not: monotonic) adds nothing.
    if (now_ns > last_ns_) {
      tokens_ += static_cast<double>(now_ns - last_ns_) * 1e-9 * rate;
      last_ns_ = now_ns;
    }
    tokens_ = std::min(tokens_, burst);
  }

  double tokens_;
  uint64_t last_ns_;
};

}  // namespace sy::core
