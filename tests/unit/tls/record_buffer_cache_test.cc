#include "tls/record_buffer_cache.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <vector>

#include "core/address_sanitizer.h"

namespace sy::tls {
namespace {

// Installed before main (as the binary does first thing): OpenSSL takes allocation functions
// only before its first allocation.
const bool g_record_cache_installed = installRecordBufferCache();

#if SY_ADDRESS_SANITIZER
constexpr bool kExpectInstalled = false;
#else
constexpr bool kExpectInstalled = true;
#endif

TEST(RecordBufferCache, InstalledBeforeOpenSslAllocates) {
  EXPECT_EQ(g_record_cache_installed, kExpectInstalled);
}

TEST(RecordBufferCache, RecordSizedBlocksAreReusedUpToTheBound) {
  if (!g_record_cache_installed) GTEST_SKIP() << "not installed (AddressSanitizer)";
  const size_t before = cachedRecordBuffers();
  // A read buffer's size: freed, it is kept, and the next record-sized request (a write
  // buffer, a little smaller) gets the same block.
  void* read_buffer = OPENSSL_malloc(16716);
  ASSERT_NE(read_buffer, nullptr);
  static_cast<char*>(read_buffer)[16715] = 1;
  OPENSSL_free(read_buffer);
  EXPECT_EQ(cachedRecordBuffers(), before + (before < kMaxCachedPerThread ? 1 : 0));
  void* write_buffer = OPENSSL_malloc(16500);
  if (before == 0) {
    EXPECT_EQ(write_buffer, read_buffer);
  }
  OPENSSL_free(write_buffer);

  // Past the bound blocks go back to malloc; other sizes are never kept.
  std::vector<void*> blocks;
  for (size_t i = 0; i < kMaxCachedPerThread + 3; ++i) blocks.push_back(OPENSSL_malloc(17000));
  for (void* block : blocks) OPENSSL_free(block);
  EXPECT_EQ(cachedRecordBuffers(), kMaxCachedPerThread);
  void* small = OPENSSL_malloc(100);
  void* large = OPENSSL_malloc(64 * 1024);
  OPENSSL_free(small);
  OPENSSL_free(large);
  EXPECT_EQ(cachedRecordBuffers(), kMaxCachedPerThread);
  // A zeroed allocation of a record size is zeroed even when it comes from the cache.
  auto* zeroed = static_cast<unsigned char*>(OPENSSL_zalloc(16716));
  ASSERT_NE(zeroed, nullptr);
  bool all_zero = true;
  for (size_t i = 0; i < 16716; ++i) all_zero = all_zero && zeroed[i] == 0;
  EXPECT_TRUE(all_zero);
  OPENSSL_free(zeroed);
}

}  // namespace
}  // namespace sy::tls
