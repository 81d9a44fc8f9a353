#include "admin/admin_server.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/loop_context.h"
#include "core/strings.h"
#include "http/http1_parser.h"
#include "http/lingering_close.h"
#include "http/local_reply.h"
#include "tls/stream_transport.h"

namespace sy::admin {
namespace {

constexpr http::ParserLimits kLimits{/*max_url_bytes=*/4096, /*max_header_bytes=*/16384,
                                     /*max_header_count=*/64};
constexpr uint64_t kRefusalLogIntervalMs = 1000;

}  // namespace

// One admin client connection. Requests are handled strictly one at a time, in the order they
// arrived: parser callbacks only record what they saw, and the request is dispatched from
// process() once the parser has returned, so a reply given synchronously by the API never runs
// inside the parser and never resumes it from within (which once left it paused with input
// pending: the control thread spun forever).
class AdminServer::Connection final : public core::ListLinks<AdminServer::Connection>,
                                      public core::TransportCallbacks,
                                      public http::ParserCallbacks,
                                      public core::TimeoutEntry {
 public:
  Connection(AdminServer& server)
      : server_(server),
        limits_(server.limits_),
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
    int rc = transport_.accept(listener, server_.tls_);
    if (rc == 0) rc = transport_.startReading();
    if (rc != 0) {
      close();
      return rc;
    }
    armTimer();
    return 0;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    server_.timeouts_.cancel(this);
    transport_.close();
  }

 private:
  void onTransportData(const char* data, size_t length) override {
    // A lingering connection only waits for the client to go; what it still sends is dropped.
    if (closed_ || lingering_) return;
    input_.append(data, length);
    process();
  }

  // Parses buffered input and dispatches complete requests until a reply must be awaited or the
  // input runs out. Not re-entrant: a synchronous reply inside dispatch() returns here and the
  // loop goes on with the next pipelined request.
  void process() {
    if (processing_) return;
    processing_ = true;
    while (!closed_ && !lingering_ && !awaiting_reply_ && consumed_ < input_.size()) {
      size_t used = 0;
      const http::Http1Parser::Result result =
          parser_.execute(input_.data() + consumed_, input_.size() - consumed_, &used);
      consumed_ += used;
      if (refusal_status_ != 0) {
        keep_alive_ = false;
        send(errorReply(refusal_status_, refusal_reason_));
        break;
      }
      if (result == http::Http1Parser::Result::kError) {
        keep_alive_ = false;
        send(errorReply(parser_.errorStatus(), std::string(parser_.errorReason())));
        break;
      }
      if (result == http::Http1Parser::Result::kNeedMore) break;
      dispatch();  // kPaused: a request is complete
    }
    input_.erase(0, consumed_);
    consumed_ = 0;
    if (!closed_ && !lingering_) {
      if (client_eof_ && !awaiting_reply_) {
        close();  // every complete request was answered; a partial one never will be
      } else if (input_.size() > http::kMaxPipelinedBytes) {
        transport_.stopReading();
      } else if (!client_eof_ && !transport_.isReading()) {
        transport_.startReading();
      }
    }
    armTimer();
    processing_ = false;
  }

  void dispatch() {
    awaiting_reply_ = true;
    request_started_ = false;
    request_.body.swap(body_);
    body_.clear();
    std::weak_ptr<bool> alive = alive_;
    server_.api_.handle(request_, [this, alive](Reply reply) {
      if (auto flag = alive.lock(); flag && *flag) onReply(std::move(reply));
    });
  }

  void onReply(Reply reply) {
    if (!awaiting_reply_) return;
    send(std::move(reply));
    if (closed_ || lingering_) return;
    parser_.resume();  // outside execute(): dispatch() runs after the parser returned
    process();         // a no-op when the reply came synchronously from process() itself
  }

  // Timers: idle between requests, one deadline for a whole request from its first byte (data
  // arriving does not extend it, so a slow sender cannot hold the connection), none while the
  // API works on a reply (it bounds its own waits), and the linger period once closing.
  void armTimer() {
    if (closed_ || lingering_) return;
    if (awaiting_reply_) {
      server_.timeouts_.cancel(this);
    } else if (parser_.inMessage()) {
      if (!request_started_) {
        request_started_ = true;
        server_.timeouts_.schedule(this, limits_.request_timeout_ms);
      }
    } else {
      request_started_ = false;
      server_.timeouts_.schedule(this, limits_.idle_timeout_ms);
    }
  }

  HeadAction onHeadComplete() override {
    body_.clear();
    keep_alive_ = parser_.keepAlive() && !parser_.upgrade();
    request_ = parseAdminTarget(parser_.methodName(), parser_.url());
    request_.authorization = std::string(parser_.headers().find("authorization").value_or(""));
    request_.peer = transport_.peerAddress().toString();
    const auto& headers = parser_.headers();
    request_.host = std::string(headers.find("host").value_or(""));
    const std::optional<std::string_view> origin = headers.find("origin");
    request_.has_origin = origin.has_value();
    request_.origin = std::string(origin.value_or(""));
    request_.sec_fetch_site =
        absl::AsciiStrToLower(core::toAbsl(headers.find("sec-fetch-site").value_or("")));
    if (parser_.hasContentLength() && parser_.contentLength() > kMaxBodyBytes) {
      refuse(413, "admin request bodies are limited to 64 KiB");
    }
    return kProceed;
  }

  void onBody(const char* data, size_t length) override {
    if (refusal_status_ != 0) return;
    if (body_.size() + length > kMaxBodyBytes) {
      refuse(413, "admin request bodies are limited to 64 KiB");
      return;
    }
    body_.append(data, length);
  }

  void onMessageComplete() override {}

  void refuse(int status, std::string reason) {
    refusal_status_ = status;
    refusal_reason_ = std::move(reason);
  }

  void send(Reply reply) {
    awaiting_reply_ = false;
    if (closed_ || lingering_) return;
    const std::string body = replyBody(reply);
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
    request_.body.clear();
    if (!keep_alive_) {
      // Lingering close: read and drop until the client goes (or the linger timer fires: a
      // failed read restart is left to it).
      lingering_ = true;
      server_.timeouts_.schedule(this, http::kLingerMs);
      (void)http::startLingeringClose(transport_, client_eof_);
    }
  }

  void onTransportEof() override {
    // Requests already received are still answered in order; then the connection closes.
    client_eof_ = true;
    if (lingering_) {
      close();
      return;
    }
    process();
  }
  void onTransportError(int) override {
    const std::string handshake_error = transport_.handshakeError();
    if (!handshake_error.empty()) {
      core::logWarn("admin_tls_handshake_failed",
                    {{"client", transport_.peerAddress().toString()}, {"error", handshake_error}});
    }
    close();
  }
  void onTransportClosed() override {
    server_.forget(this);
    delete this;
  }
  void onTimeout() override { close(); }

  AdminServer& server_;
  const AdminServerLimits limits_;
  tls::StreamTransport transport_;
  http::Http1Parser parser_;
  std::shared_ptr<bool> alive_;
  AdminRequest request_;
  std::string input_;    // received, not yet parsed (pipelined requests wait here)
  size_t consumed_ = 0;  // bytes of input_ the parser has used
  std::string body_;     // the current request's body
  std::string refusal_reason_;
  int refusal_status_ = 0;  // refuse the current request (413) as soon as the parser returns
  bool processing_ = false;
  bool awaiting_reply_ = false;
  bool request_started_ = false;  // the request deadline runs
  bool keep_alive_ = true;
  bool client_eof_ = false;
  bool lingering_ = false;
  bool closed_ = false;
};

AdminServer::AdminServer(uv_loop_t* loop, AdminApi& api, const AdminServerLimits& limits)
    : loop_(loop), api_(api), limits_(limits) {}

AdminServer::~AdminServer() { close(); }

int AdminServer::listen(const core::NetAddress& address) {
  return listenWith([&] { return uv_tcp_bind(tcp_.get(), address.sockaddr_ptr(), 0); });
}

int AdminServer::listenOn(int fd) {
  return listenWith([&] { return uv_tcp_open(tcp_.get(), fd); });
}

int AdminServer::listeningFd() const {
  uv_os_fd_t fd = -1;
  if (tcp_.get() == nullptr || uv_fileno(reinterpret_cast<uv_handle_t*>(tcp_.get()), &fd) != 0) {
    return -1;
  }
  return fd;
}

template <typename Attach>
int AdminServer::listenWith(const Attach& attach) {
  int rc = timeouts_.init(loop_);
  if (rc != 0) return rc;
  rc = tcp_.init(loop_, uv_tcp_init);
  if (rc != 0) return rc;
  tcp_.get()->data = this;
  rc = attach();
  // Accepted sockets inherit TCP_NODELAY from the listener (TcpTransport::accept does not set it).
  if (rc == 0) rc = uv_tcp_nodelay(tcp_.get(), 1);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_.get()), 128, &AdminServer::onConnection);
  if (rc != 0) {
    close();
    return rc;
  }
  sockaddr_storage storage{};
  int length = sizeof storage;
  uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&storage), &length);
  bound_ = core::NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&storage));
  return 0;
}

void AdminServer::close() {
  tcp_.reset();
  connections_.forEach([](Connection* c) { c->close(); });
  timeouts_.close();
}

void AdminServer::onConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<AdminServer*>(listener->data);
  if (status < 0) {
    core::logWarn("admin_accept_failed", {{"error", uv_strerror(status)}});
    return;
  }
  if (self->connections_.size() >= self->limits_.max_connections) {
    self->refuseConnection(listener);
    return;
  }
  auto* connection = new Connection(*self);
  self->connections_.pushFront(connection);
  connection->start(listener);
}

void AdminServer::refuseConnection(uv_stream_t* listener) {
  // Accepted and closed at once: left in the backlog, it would be retried forever and would
  // hide new clients behind it once a slot frees up.
  core::UvHandle<uv_tcp_t> tcp;  // closed (and freed) when it goes out of scope
  if (tcp.init(loop_, uv_tcp_init) == 0 &&
      uv_accept(listener, reinterpret_cast<uv_stream_t*>(tcp.get())) == 0) {
    ++refused_connections_;
  }
  const uint64_t now = uv_now(loop_);
  if (refused_connections_ > 0 && now - last_refusal_log_ms_ >= kRefusalLogIntervalMs) {
    last_refusal_log_ms_ = now;
    core::logWarn("admin_connections_refused", {{"refused", refused_connections_},
                                                {"max_connections", limits_.max_connections}});
    refused_connections_ = 0;
  }
}

void AdminServer::forget(Connection* connection) { connections_.remove(connection); }

}  // namespace sy::admin
