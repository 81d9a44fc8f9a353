#include "tls/record_buffer_cache.h"

#include <malloc.h>
#include <openssl/crypto.h>

#include <cstdlib>

#include "core/address_sanitizer.h"

namespace sy::tls {

// Under AddressSanitizer nothing is installed: ASan's allocator must see every block.
#if !SY_ADDRESS_SANITIZER
namespace {

// OpenSSL 3.0's record buffers: 16 KiB of plaintext plus the largest record overhead, header
// and alignment (16,716 bytes to read, a little less to write; 1 KiB more each when the
// build allows compression). Every allocation in this range gets one block size, so every
// cached block fits every request.
constexpr size_t kSmallestRecordBuffer = 16 * 1024;
constexpr size_t kRecordBlockBytes = 18 * 1024;

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so that OpenSSL may still free into it while the thread's other
// thread_local objects are destroyed (its atexit cleanup on the main thread): once `closed`,
// blocks go straight back to malloc.
struct RecordCache {
  FreeBlock* head;
  size_t count;
  bool closed;
};
thread_local RecordCache t_cache{nullptr, 0, false};

// Gives the thread's blocks back when it exits.
struct RecordCacheCloser {
  RecordCacheCloser() = default;
  RecordCacheCloser(const RecordCacheCloser&) = delete;
  RecordCacheCloser& operator=(const RecordCacheCloser&) = delete;
  ~RecordCacheCloser() {
    t_cache.closed = true;
    while (t_cache.head != nullptr) {
      FreeBlock* block = t_cache.head;
      t_cache.head = block->next;
      std::free(block);
    }
    t_cache.count = 0;
  }
  bool armed = false;
};
thread_local RecordCacheCloser t_closer;

// malloc_usable_size() of a kRecordBlockBytes block: what a freed block must measure to be one.
size_t g_record_block_usable = 0;

void* allocateForOpenSsl(size_t size, const char* /*file*/, int /*line*/) {
  if (size < kSmallestRecordBuffer || size > kRecordBlockBytes) return std::malloc(size);
  if (FreeBlock* block = t_cache.head; block != nullptr) {
    t_cache.head = block->next;
    --t_cache.count;
    return block;
  }
  return std::malloc(kRecordBlockBytes);
}

void* reallocateForOpenSsl(void* block, size_t size, const char* /*file*/, int /*line*/) {
  return std::realloc(block, size);
}

void freeForOpenSsl(void* block, const char* /*file*/, int /*line*/) {
  if (block == nullptr) return;
  if (t_cache.count < kMaxCachedPerThread && !t_cache.closed &&
      malloc_usable_size(block) == g_record_block_usable) {
    t_closer.armed = true;  // constructs this thread's closer, which frees the blocks at its exit
    auto* node = static_cast<FreeBlock*>(block);
    node->next = t_cache.head;
    t_cache.head = node;
    ++t_cache.count;
    return;
  }
  std::free(block);
}

}  // namespace

bool installRecordBufferCache() {
  void* probe = std::malloc(kRecordBlockBytes);
  if (probe == nullptr) return false;
  g_record_block_usable = malloc_usable_size(probe);
  std::free(probe);
  return CRYPTO_set_mem_functions(&allocateForOpenSsl, &reallocateForOpenSsl, &freeForOpenSsl) == 1;
}

size_t cachedRecordBuffers() { return t_cache.count; }

#else

bool installRecordBufferCache() { return false; }

size_t cachedRecordBuffers() { return 0; }

#endif

}  // namespace sy::tls
