#pragma once

#include <cstddef>

namespace sy::tls {

// OpenSSL's allocation functions (CRYPTO_set_mem_functions) with a small per-thread cache of
// freed TLS record buffers. With SSL_MODE_RELEASE_BUFFERS (so that an idle connection holds no
// buffer) OpenSSL allocates a ~17 KB record buffer for every read and write and frees it right
// after; at that size glibc's malloc takes its slow path both ways (large-bin search on the way
// in, consolidation with the top chunk on the way out: ~1,800 user-space instructions per h2
// request over TLS, callgrind). Freed buffers of that size are kept instead, at most
// kMaxCachedPerThread per thread (bounded per worker, not per connection: an idle connection
// still holds none), and handed out again.
//
// Must run before OpenSSL allocates anything (first thing in main); returns false, and changes
// nothing, when that is too late. Under AddressSanitizer nothing is installed (ASan's own
// allocator must see every block).
bool installRecordBufferCache();

// For tests: buffers the calling thread keeps now.
size_t cachedRecordBuffers();

inline constexpr size_t kMaxCachedPerThread = 4;

}  // namespace sy::tls
