#pragma once

#include <cstdint>
#include <string_view>

#include "http/header_block.h"
#include "routing/route_table.h"

namespace sy::routing {

// What the pool choice may look at in a request.
struct SplitInput {
  const http::HeaderBlock* headers = nullptr;
  std::string_view target;     // request target, for query parameters
  std::string_view client_ip;  // needed only when route.sticky is client_ip
  uint64_t random = 0;         // a fresh random number from the worker (non-sticky split)
};

struct PoolChoice {
  enum class Reason { kActive, kCanary, kRule };
  uint32_t pool_index = 0;
  Reason reason = Reason::kActive;
};

// Picks the pool for one request: the first matching rule wins; otherwise the canary gets its
// share and the active pool the rest. With a sticky key the share is decided by the key's hash
// (the same user always lands on the same side, and a user in the canary at 5% stays in it at
// 25%: the canary takes the hash buckets below the weight); without one, or when the request
// lacks the key, by `random`. Worker thread, per request; no allocation.
PoolChoice choosePool(const Route& route, const SplitInput& input);

// Whether this request is copied to the route's mirror pool: by the sticky key's bucket when the
// route has a sticky key and the request carries it (so a user is mirrored always or never),
// else by `random`.
bool sampleMirror(const Route& route, const SplitInput& input);

// The value of query parameter `name` in `target` ("/p?a=1&b=2"), compared raw (no
// percent-decoding); an empty value for a parameter without '='.
std::optional<std::string_view> findQueryParameter(std::string_view target, std::string_view name);

// Bucket in [0, 1e6) of a sticky key for a route.
uint32_t stickyBucket(std::string_view key, uint64_t seed);

}  // namespace sy::routing
