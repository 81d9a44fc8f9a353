#pragma once

#include <cstddef>
#include <cstdint>

#include "core/transport.h"

namespace sy::http {

// What the three HTTP/1 server connections (the proxy's clients, the admin API, the demo origin)
// share about pipelining and about closing a connection after its last response.

// Pipelined input a server connection holds while the current response is in progress; beyond
// it, the connection stops reading until the response is done (the peer waits in TCP).
inline constexpr size_t kMaxPipelinedBytes = 64 * 1024;

// After the last response on a connection the server closes: how long to wait for the peer to
// close too before closing anyway (the linger timer is the caller's own).
inline constexpr uint64_t kLingerMs = 5000;

// Lingering close (RFC 9112 9.6): FIN once the response is written, then keep reading (and
// dropping) what the peer still sends until it closes. Closing with unread input would make the
// kernel send RST, which can destroy the response still in the peer's receive buffer.
//
// Sends the FIN and, unless the peer has already sent its own (`peer_eof`: nothing is left to
// read), restarts reading; the caller drops whatever arrives from now on and closes on the
// peer's EOF or at kLingerMs. Returns 0, or the libuv error when reading could not restart (the
// caller should then close).
inline int startLingeringClose(core::Transport& transport, bool peer_eof) {
  transport.shutdownWrite();
  return peer_eof ? 0 : transport.startReading();
}

}  // namespace sy::http
