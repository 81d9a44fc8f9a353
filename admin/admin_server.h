#pragma once

#include <uv.h>

#include <memory>

#include "admin/admin_api.h"
#include "proxy/core/net_address.h"
#include "proxy/core/timeout_queue.h"

namespace sy::admin {

// The admin API's own HTTP/1.1 listener, served by the control loop (never by a worker, so a
// saturated data plane cannot lock operators out, and admin traffic never competes with it).
// Keep-alive; one request at a time per connection; request bodies are not used (up to 64 KiB is
// read and dropped).
class AdminServer {
 public:
  AdminServer(uv_loop_t* loop, AdminApi& api);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens. Returns a libuv error code.
  int listen(const core::NetAddress& address);
  // The address actually bound (port 0 resolved).
  const core::NetAddress& address() const { return bound_; }
  // Stops listening and closes every connection; pending replies are dropped.
  void close();

 private:
  class Connection;
  static void onConnection(uv_stream_t* server, int status);
  void forget(Connection* connection);

  uv_loop_t* loop_;
  AdminApi& api_;
  core::TimeoutQueue timeouts_;
  uv_tcp_t* tcp_ = nullptr;
  core::NetAddress bound_;
  Connection* connections_ = nullptr;
};

}  // namespace sy::admin
