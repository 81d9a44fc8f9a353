#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "admin/admin_api.h"
#include "core/intrusive_list.h"
#include "core/net_address.h"
#include "core/timeout_queue.h"
#include "core/uv_handle.h"
#include "tls/server_context.h"

namespace sy::admin {

// Bounds that keep one admin client from holding the control thread or its memory.
struct AdminServerLimits {
  uint32_t max_connections = 64;        // more are accepted and closed at once
  uint64_t request_timeout_ms = 10000;  // from a request's first byte to its last
  uint64_t idle_timeout_ms = 60000;     // keep-alive connection with no request
};

// The admin API's own HTTP/1.1 listener, served by the control loop (never by a worker, so a
// saturated data plane cannot lock operators out, and admin traffic never competes with it).
// Keep-alive; pipelined requests are answered one at a time, in order; request bodies are kept
// up to kMaxBodyBytes (a larger declared Content-Length is refused from the head, with 413).
// Optionally over TLS (the listeners' StreamTransport); a TLS handshake falls under the idle
// timeout, and a failed one is logged (admin_tls_handshake_failed: with client-certificate
// authentication, that is how a refused client shows).
class AdminServer {
 public:
  static constexpr size_t kMaxBodyBytes = 64 * 1024;

  AdminServer(uv_loop_t* loop, AdminApi& api, const AdminServerLimits& limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens. Returns a libuv error code.
  int listen(const core::NetAddress& address);
  // Listens on `fd`, a socket already bound (handed over by a hot upgrade), which it owns from
  // now on. Returns a libuv error code.
  int listenOn(int fd);
  // The listening socket, for a hot upgrade to hand over; -1 when not listening.
  int listeningFd() const;
  // Stops accepting; the connections open stay, and their pending replies are sent.
  void stopListening() { tcp_.reset(); }
  // The address actually bound (port 0 resolved).
  const core::NetAddress& address() const { return bound_; }
  // Stops listening and closes every connection; pending replies are dropped.
  void close();
  // Applies to connections accepted from now on (and the cap to all).
  void setLimits(const AdminServerLimits& limits) { limits_ = limits; }
  // Set: connections accepted from now on speak TLS with this context (which may also ask for a
  // client certificate); null: plain HTTP. Connections already open keep what they started with.
  void setTls(std::shared_ptr<const tls::ServerContext> context) { tls_ = std::move(context); }
  size_t connectionCount() const { return connections_.size(); }

 private:
  class Connection;
  // listen() and listenOn(): `attach` binds or adopts the socket of tcp_.
  template <typename Attach>
  int listenWith(const Attach& attach);
  static void onConnection(uv_stream_t* server, int status);
  void refuseConnection(uv_stream_t* listener);
  void forget(Connection* connection);

  uv_loop_t* loop_;
  AdminApi& api_;
  AdminServerLimits limits_;
  std::shared_ptr<const tls::ServerContext> tls_;
  core::TimeoutQueue timeouts_;
  core::UvHandle<uv_tcp_t> tcp_;
  core::NetAddress bound_;
  core::IntrusiveList<Connection> connections_;
  uint64_t refused_connections_ = 0;  // over max_connections, for the rate-limited log line
  uint64_t last_refusal_log_ms_ = 0;
};

}  // namespace sy::admin
