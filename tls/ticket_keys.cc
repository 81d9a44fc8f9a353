#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace sy::tls {
namespace {

// The SSL_CTX ex_data index under which a context points at its ring.
int ringIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

template <size_t N>
void randomize(std::array<unsigned char, N>& bytes) {
  // Without randomness there is no safe key: better to stop than to issue guessable tickets.
  if (RAND_bytes(bytes.data(), static_cast<int>(N)) != 1) std::abort();
}

}  // namespace

TicketKeyRing::TicketKeyRing() {
  rotate();
  rotations_.store(0, std::memory_order_relaxed);  // the first key is no rotation
}

void TicketKeyRing::rotate() {
  Key key;
  randomize(key.name);
  randomize(key.aes);
  randomize(key.hmac);
  auto next = std::make_shared<KeySet>();
  next->push_back(key);
  if (std::shared_ptr<const KeySet> current = keys_.load()) {
    for (size_t i = 0; i < current->size() && next->size() < kKeptKeys; ++i) {
      next->push_back((*current)[i]);
    }
  }
  keys_.store(std::move(next));
  rotations_.fetch_add(1, std::memory_order_relaxed);
}

void TicketKeyRing::install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ringIndex(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeyRing::onTicket);
}

// OpenSSL calls this with the context the handshake started from (the listener's default, whose
// ring every context of the listener shares). Returns, as SSL_CTX_set_tlsext_ticket_key_evp_cb
// documents: encrypting, 1 (a ticket) or 0 (none); decrypting, 0 (unknown key: full handshake),
// 1 (resume) or 2 (resume, and issue a new ticket under the current key); -1 on an error.
int TicketKeyRing::onTicket(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  const auto* ring =
      static_cast<const TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ringIndex()));
  if (ring == nullptr) return 0;  // no ticket, or a full handshake
  const std::shared_ptr<const KeySet> keys = ring->keys_.load();
  const Key* key = nullptr;
  size_t position = 0;
  if (encrypt != 0) {
    key = &keys->front();
    std::memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
  } else {
    for (; position < keys->size(); ++position) {
      if (std::memcmp(key_name, (*keys)[position].name.data(), 16) == 0) {
        key = &(*keys)[position];
        break;
      }
    }
    if (key == nullptr) return 0;
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(mac, key->hmac.data(), key->hmac.size(), params) != 1) return -1;
  const int ok = encrypt != 0
                     ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv)
                     : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv);
  if (ok != 1) return -1;
  if (encrypt != 0) return 1;
  // 2 asks for a new ticket: under the current key when this one was older, and always with
  // TLS 1.3, whose clients use each ticket once (RFC 8446 §C.4; OpenSSL's server sends a
  // resumed TLS 1.3 client no new ticket otherwise, and the client could not resume again).
  return position == 0 && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2;
}

}  // namespace sy::tls
