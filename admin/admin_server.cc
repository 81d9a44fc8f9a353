#include "admin/admin_server.h"

#include "absl/strings/str_cat.h"
#include "proxy/core/log.h"
#include "proxy/core/loop_context.h"
#include "proxy/core/strings.h"
#include "proxy/core/tcp_transport.h"
#include "proxy/http/http1_parser.h"
#include "proxy/http/local_reply.h"

namespace sy::admin {
namespace {

constexpr uint64_t kIdleTimeoutMs = 60000;
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxPendingBytes = 64 * 1024;
constexpr http::ParserLimits kLimits{/*max_url_bytes=*/4096, /*max_header_bytes=*/16384,
                                     /*max_header_count=*/64};

}  // namespace

class AdminServer::Connection final : public core::TransportCallbacks,
                                      public http::ParserCallbacks,
                                      public core::TimeoutEntry {
 public:
  Connection(AdminServer& server)
      : server_(server),
        transport_(server.loop_),
        parser_(http::Http1Parser::Type::kRequest, this, kLimits),
        alive_(std::make_shared<bool>(true)) {
    transport_.setCallbacks(this);
  }
  ~Connection() override {
    *alive_ = false;
    server_.timeouts_.cancel(this);
  }

  int start(uv_stream_t* listener) {
    int rc = transport_.accept(listener);
    if (rc == 0) rc = transport_.startReading();
    if (rc != 0) {
      close();
      return rc;
    }
    server_.timeouts_.schedule(this, kIdleTimeoutMs);
    return 0;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    server_.timeouts_.cancel(this);
    transport_.close();
  }

  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  void onTransportData(const char* data, size_t length) override {
    if (closed_ || lingering_) return;
    server_.timeouts_.schedule(this, kIdleTimeoutMs);
    if (busy_) {
      pending_.append(data, length);
      if (pending_.size() > kMaxPendingBytes) transport_.stopReading();
      return;
    }
    parse(data, length);
  }

  void parse(const char* data, size_t length) {
    while (length > 0 && !busy_ && !closed_ && !lingering_) {
      size_t consumed = 0;
      const http::Http1Parser::Result result = parser_.execute(data, length, &consumed);
      if (result == http::Http1Parser::Result::kNeedMore) return;
      if (result == http::Http1Parser::Result::kError) {
        keep_alive_ = false;
        send(errorReply(parser_.errorStatus(), std::string(parser_.errorReason())));
        return;
      }
      data += consumed;
      length -= consumed;
      if (busy_ && length > 0) pending_.append(data, length);
    }
  }

  HeadAction onHeadComplete() override {
    body_bytes_ = 0;
    keep_alive_ = parser_.keepAlive();
    request_ = parseAdminTarget(parser_.methodName(), parser_.url());
    request_.authorization = std::string(parser_.headers().find("authorization").value_or(""));
    return kProceed;
  }

  void onBody(const char*, size_t length) override { body_bytes_ += length; }

  void onMessageComplete() override {
    busy_ = true;
    if (body_bytes_ > kMaxBodyBytes) {
      keep_alive_ = false;
      send(errorReply(413, "admin requests take their parameters in the query string"));
      return;
    }
    std::weak_ptr<bool> alive = alive_;
    server_.api_.handle(request_, [this, alive](Reply reply) {
      if (auto flag = alive.lock(); flag && *flag) send(std::move(reply));
    });
  }

  void send(Reply reply) {
    if (closed_ || lingering_) return;
    const std::string body = reply.text.empty() ? reply.body.dump(2) + "\n" : reply.text;
    std::string head =
        absl::StrCat("HTTP/1.1 ", reply.status, " ", core::toAbsl(http::reasonPhrase(reply.status)),
                     "\r\nServer: switchyard\r\nContent-Type: ", reply.content_type,
                     "\r\nContent-Length: ", body.size(), "\r\nCache-Control: no-store\r\n");
    for (const auto& [name, value] : reply.headers)
      absl::StrAppend(&head, name, ": ", value, "\r\n");
    if (!keep_alive_) head.append("Connection: close\r\n");
    head.append("\r\n");
    const bool head_only = request_.method == "HEAD";
    uv_buf_t buffers[2] = {uv_buf_init(head.data(), static_cast<unsigned>(head.size())),
                           uv_buf_init(const_cast<char*>(body.data()),
                                       static_cast<unsigned>(head_only ? 0 : body.size()))};
    transport_.write(buffers, 2);
    busy_ = false;
    if (!keep_alive_) {
      lingering_ = true;
      transport_.shutdownWrite();
      server_.timeouts_.schedule(this, kLingerMs);
      transport_.startReading();
      return;
    }
    parser_.resume();
    server_.timeouts_.schedule(this, kIdleTimeoutMs);
    if (!pending_.empty()) {
      std::string input;
      input.swap(pending_);
      transport_.startReading();
      parse(input.data(), input.size());
    }
  }

  void onTransportEof() override {
    if (busy_) {
      keep_alive_ = false;  // answer the request in flight, then close
      return;
    }
    close();
  }
  void onTransportError(int) override { close(); }
  void onTransportClosed() override {
    server_.forget(this);
    delete this;
  }
  void onTimeout() override { close(); }

  AdminServer& server_;
  core::TcpTransport transport_;
  http::Http1Parser parser_;
  std::shared_ptr<bool> alive_;
  AdminRequest request_;
  std::string pending_;
  size_t body_bytes_ = 0;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool lingering_ = false;
  bool closed_ = false;
};

AdminServer::AdminServer(uv_loop_t* loop, AdminApi& api) : loop_(loop), api_(api) {}

AdminServer::~AdminServer() { close(); }

int AdminServer::listen(const core::NetAddress& address) {
  int rc = timeouts_.init(loop_);
  if (rc != 0) return rc;
  tcp_ = new uv_tcp_t;
  rc = uv_tcp_init(loop_, tcp_);
  if (rc != 0) {
    delete tcp_;
    tcp_ = nullptr;
    return rc;
  }
  tcp_->data = this;
  rc = uv_tcp_bind(tcp_, address.sockaddr_ptr(), 0);
  // Accepted sockets inherit TCP_NODELAY from the listener (TcpTransport::accept does not set it).
  if (rc == 0) rc = uv_tcp_nodelay(tcp_, 1);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), 128, &AdminServer::onConnection);
  if (rc != 0) {
    close();
    return rc;
  }
  sockaddr_storage storage{};
  int length = sizeof storage;
  uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&storage), &length);
  bound_ = core::NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
  return 0;
}

void AdminServer::close() {
  if (tcp_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
    tcp_ = nullptr;
  }
  for (Connection* c = connections_; c != nullptr; c = c->next) c->close();
  timeouts_.close();
}

void AdminServer::onConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<AdminServer*>(listener->data);
  if (status < 0) {
    core::logWarn("admin_accept_failed", {{"error", uv_strerror(status)}});
    return;
  }
  auto* connection = new Connection(*self);
  connection->next = self->connections_;
  if (self->connections_ != nullptr) self->connections_->prev = connection;
  self->connections_ = connection;
  connection->start(listener);
}

void AdminServer::forget(Connection* connection) {
  if (connection->prev != nullptr) {
    connection->prev->next = connection->next;
  } else {
    connections_ = connection->next;
  }
  if (connection->next != nullptr) connection->next->prev = connection->prev;
}

}  // namespace sy::admin
