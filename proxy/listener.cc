#include "proxy/listener.h"

#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/downstream_connection.h"
#include "proxy/worker.h"

namespace sy::proxy {

Listener::~Listener() { close(); }

int Listener::open(int fd, int backlog) {
  tcp_ = new uv_tcp_t;
  int rc = uv_tcp_init(worker_.loop(), tcp_);
  if (rc != 0) {
    delete tcp_;
    tcp_ = nullptr;
    ::close(fd);
    return rc;
  }
  tcp_->data = this;
  rc = uv_tcp_open(tcp_, fd);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), backlog, &Listener::onConnection);
  if (rc != 0) close();
  return rc;
}

void Listener::close() {
  if (tcp_ == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
  tcp_ = nullptr;
}

void Listener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    core::logWarn("accept_failed", {{"worker", self->worker_.index()}, {"error", uv_strerror(status)}});
    return;
  }
  auto* connection = new DownstreamConnection(self->worker_, self->index_);
  const int rc = connection->accept(server);
  if (rc != 0) {
    core::logWarn("accept_failed", {{"worker", self->worker_.index()}, {"error", uv_strerror(rc)}});
  }
}

}  // namespace sy::proxy
