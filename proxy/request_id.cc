#include "proxy/request_id.h"

#include <sys/random.h>

#include <cstdint>
#include <ctime>

#include "core/stable_hash.h"

namespace sy::proxy {
namespace {

// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, fine statistical quality. Ids need
// to be unique, not secret.
class IdGenerator {
 public:
  IdGenerator() {
    uint64_t seed[4] = {};
    if (getrandom(seed, sizeof(seed), 0) != static_cast<ssize_t>(sizeof(seed))) {
      // No entropy source: still distinct per thread and process run.
      const uint64_t base =
          reinterpret_cast<uintptr_t>(this) ^ static_cast<uint64_t>(time(nullptr));
      for (uint64_t i = 0; i < 4; ++i) seed[i] = core::mix64(base + i);
    }
    for (int i = 0; i < 4; ++i) state_[i] = seed[i] != 0 ? seed[i] : 0x9e3779b97f4a7c15ULL;
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

bool isLowerHex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZeros(std::string_view text) { return text.find_first_not_of('0') == text.npos; }

}  // namespace

void generateRequestId(char (&out)[kGeneratedRequestIdLength]) {
  static thread_local IdGenerator generator;
  constexpr char kHex[] = "0123456789abcdef";
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = generator.next();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = kHex[bits & 0xF];
      bits >>= 4;
    }
  }
}

std::optional<std::string_view> traceIdOf(std::string_view traceparent) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  constexpr size_t kLength = 55;
  if (traceparent.size() < kLength) return std::nullopt;
  const std::string_view version = traceparent.substr(0, 2);
  if (!isLowerHex(version) || version == "ff") return std::nullopt;
  // Version 00 has exactly these fields; a later version may append more after a '-'.
  if (version == "00" ? traceparent.size() != kLength
                      : traceparent.size() > kLength && traceparent[kLength] != '-') {
    return std::nullopt;
  }
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') {
    return std::nullopt;
  }
  const std::string_view trace_id = traceparent.substr(3, 32);
  const std::string_view parent_id = traceparent.substr(36, 16);
  const std::string_view flags = traceparent.substr(53, 2);
  if (!isLowerHex(trace_id) || !isLowerHex(parent_id) || !isLowerHex(flags)) return std::nullopt;
  if (allZeros(trace_id) || allZeros(parent_id)) return std::nullopt;
  return trace_id;
}

}  // namespace sy::proxy
