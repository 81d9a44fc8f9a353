#pragma once

// SHA-256 for tests: checks bodies against what was sent or expected, without keeping them.

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace sy::testing {

// Streaming SHA-256 (OpenSSL EVP). Aborts the test binary on an OpenSSL failure, which only a
// broken installation produces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t length);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lowercase hex of the digest; the object starts over afterwards.
  std::string finishHex();

 private:
  evp_md_ctx_st* context_;
};

std::string sha256Hex(std::string_view data);

}  // namespace sy::testing
