#include <gtest/gtest.h>

#include "core/address_sanitizer.h"
#include "tls/record_buffer_cache.h"

namespace sy {
namespace {

// As the binary does first thing in main: every TLS test of this executable (in-process
// workers) then runs with the record buffer cache, as production does.
const bool g_record_cache_installed = tls::installRecordBufferCache();

TEST(TlsRecordCache, InstalledForTheIntegrationTests) {
#if SY_ADDRESS_SANITIZER
  EXPECT_FALSE(g_record_cache_installed);
#else
  EXPECT_TRUE(g_record_cache_installed);
#endif
}

}  // namespace
}  // namespace sy
