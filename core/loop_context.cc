#include "core/loop_context.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace sy::core {

LoopContext::LoopContext(uv_loop_t* loop) : loop_(loop), read_buffer_(new char[kReadBufferSize]) {
  loop_->data = this;
}

LoopContext::~LoopContext() {
  if (loop_->data == this) loop_->data = nullptr;
}

const std::string& LoopContext::httpDate() {
  const uint64_t second = uv_now(loop_) / 1000;
  if (http_date_.empty() || second != http_date_second_) {
    http_date_second_ = second;
    const time_t now = ::time(nullptr);
    tm utc{};
    gmtime_r(&now, &utc);
    char buf[64];
    const size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    http_date_.assign(buf, n);
  }
  return http_date_;
}

int LoopContext::startFlushing() {
  int rc = flush_check_.init(loop_, uv_check_init);
  if (rc == 0) rc = flush_prepare_.init(loop_, uv_prepare_init);
  if (rc != 0) return rc;
  flush_check_.get()->data = this;
  flush_prepare_.get()->data = this;
  auto flush_check = [](uv_check_t* handle) {
    static_cast<LoopContext*>(handle->data)->write_batch_.flush();
  };
  auto flush_prepare = [](uv_prepare_t* handle) {
    static_cast<LoopContext*>(handle->data)->write_batch_.flush();
  };
  rc = uv_check_start(flush_check_.get(), flush_check);
  if (rc == 0) rc = uv_prepare_start(flush_prepare_.get(), flush_prepare);
  // Neither handle should keep the loop alive on its own.
  uv_unref(flush_check_.asHandle());
  uv_unref(flush_prepare_.asHandle());
  return rc;
}

void LoopContext::stopFlushing() {
  write_batch_.flush();
  flush_check_.reset();
  flush_prepare_.reset();
}

int openReusePortSocket(const NetAddress& address) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  // Linux copies TCP_NODELAY to every accepted socket: one setsockopt per listener instead of
  // one per connection.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      ::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

NetAddress socketLocalAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
}

}  // namespace sy::core
