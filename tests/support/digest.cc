#include "tests/support/digest.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace sy::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "Sha256: %s failed\n", what);
    std::abort();
  }
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  check(context_ != nullptr, "EVP_MD_CTX_new");
  check(EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) == 1, "EVP_DigestInit_ex");
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::update(const void* data, size_t length) {
  check(EVP_DigestUpdate(context_, data, length) == 1, "EVP_DigestUpdate");
}

std::string Sha256::finishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  check(EVP_DigestFinal_ex(context_, digest, &length) == 1, "EVP_DigestFinal_ex");
  check(EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) == 1, "EVP_DigestInit_ex");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string sha256Hex(std::string_view data) {
  Sha256 sha;
  sha.update(data);
  return sha.finishHex();
}

}  // namespace sy::testing
