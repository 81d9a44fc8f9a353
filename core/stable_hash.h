#pragma once

#include <cstdint>
#include <string_view>

namespace sy::core {

// A hash that is the same in every process and on every run, unlike absl::Hash (seeded per
// process). Sticky routing and consistent hashing need a user to land on the same backend after
// a restart. FNV-1a followed by the splitmix64 finalizer for good avalanche on short keys.
uint64_t stableHash(std::string_view data, uint64_t seed = 0);

// Mixes an integer into a well-distributed 64-bit value (splitmix64 finalizer).
uint64_t mix64(uint64_t x);

}  // namespace sy::core
