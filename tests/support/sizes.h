#pragma once

#include <cstdint>

namespace sy::testing {

// Byte sizes the tests use for bodies and memory bounds, defined once.
inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

}  // namespace sy::testing
