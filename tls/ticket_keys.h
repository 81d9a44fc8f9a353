#pragma once

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sy::tls {

// The session ticket keys of one TLS listener: the newest encrypts every ticket issued, the one
// before it still decrypts (a ticket issued just before a rotation resumes, and comes back
// re-encrypted under the new key), older ones are gone (their tickets get a full handshake).
//
// One ring per listener, shared by every worker through the listener's ServerContext (and
// carried from one ServerContext to the next across reloads), so a ticket resumes whichever
// worker accepts the connection, before and after a reload. The control thread rotates it
// (KeyRotation in proxy/control); workers read the current key set, one atomic load per ticket,
// and a rotation is seen by every worker at once.
class TicketKeyRing {
 public:
  static constexpr size_t kKeptKeys = 2;  // the current key and the one before it

  TicketKeyRing();
  TicketKeyRing(const TicketKeyRing&) = delete;
  TicketKeyRing& operator=(const TicketKeyRing&) = delete;

  // A new random key becomes the current one; the oldest kept key is dropped.
  void rotate();
  // How many times rotate() ran since the ring was made (for logs and tests).
  uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }

  // Makes `ctx` encrypt and decrypt its tickets with this ring (the ring must outlive it).
  void install(SSL_CTX* ctx);

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;   // AES-256-CBC
    std::array<unsigned char, 32> hmac;  // HMAC-SHA256
  };
  using KeySet = std::vector<Key>;  // newest first

  static int onTicket(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);

  std::atomic<std::shared_ptr<const KeySet>> keys_;
  std::atomic<uint64_t> rotations_{0};
};

}  // namespace sy::tls
