#include "health/probe.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "http/http1_parser.h"
#include "tls/stream_transport.h"

namespace sy::health {
namespace {

using routing::config::HealthCheckConfig;

// Checks only need the start of a body; more is not kept.
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr http::ParserLimits kLimits{0, 64 * 1024, 200};

class ProbeSession final : public Probe,
                           public core::TransportCallbacks,
                           public http::ParserCallbacks,
                           public core::TimeoutEntry,
                           public std::enable_shared_from_this<ProbeSession> {
 public:
  ProbeSession(uv_loop_t* loop, core::TimeoutQueue& timeouts, const HealthCheckConfig& check,
               std::string host_header, Done done, std::string request = "")
      : timeouts_(timeouts),
        transport_(new tls::StreamTransport(loop)),
        parser_(http::Http1Parser::Type::kResponse, this, kLimits),
        check_(check),
        host_header_(std::move(host_header)),
        done_(std::move(done)),
        request_(std::move(request)),
        started_ns_(uv_hrtime()) {
    transport_->setCallbacks(this);
  }

  ~ProbeSession() override { timeouts_.cancel(this); }

  void begin(const core::NetAddress& address, std::shared_ptr<const tls::ClientContext> tls) {
    self_ = shared_from_this();  // alive until the transport has closed
    const uint64_t timeout_ms =
        static_cast<uint64_t>(std::max<int64_t>(1, absl::ToInt64Milliseconds(check_.timeout)));
    timeouts_.schedule(this, timeout_ms);
    // A TCP check only proves the port accepts connections: no handshake.
    if (check_.type == HealthCheckConfig::Type::kTcp) tls = nullptr;
    // Quiet: the result carries the reason of a failed handshake.
    const int rc = transport_->connect(address, std::move(tls), nullptr,
                                       tls::StreamTransport::FailureLog::kQuiet);
    if (rc != 0) finish(false, absl::StrCat("connect: ", uv_strerror(rc)));
  }

  void cancel() override {
    done_ = nullptr;
    finish(false, "cancelled");
  }

 private:
  void finish(bool passed, std::string error) {
    if (finished_) return;
    finished_ = true;
    timeouts_.cancel(this);
    Done done = std::move(done_);
    done_ = nullptr;
    transport_->close();  // frees us from the close callback
    const int status = parser_.headComplete() ? parser_.statusCode() : 0;
    if (done) done(ProbeResult{passed, std::move(error), status, uv_hrtime() - started_ns_});
  }

  void onTransportConnected() override {
    if (check_.type == HealthCheckConfig::Type::kTcp) {
      finish(true, "");
      return;
    }
    const int rc = transport_->startReading();
    if (rc != 0) {
      finish(false, absl::StrCat("read: ", uv_strerror(rc)));
      return;
    }
    const std::string request =
        request_.empty() ? buildRequest(check_, host_header_) : std::move(request_);
    transport_->write(request.data(), request.size());
  }

  void onTransportData(const char* data, size_t length) override {
    if (finished_) return;
    size_t consumed = 0;
    const http::Http1Parser::Result result = parser_.execute(data, length, &consumed);
    if (result == http::Http1Parser::Result::kError) {
      finish(false, absl::StrCat("invalid response: ", core::toAbsl(parser_.errorReason())));
    } else if (result == http::Http1Parser::Result::kPaused) {
      if (interim_) {  // a 1xx: the real answer follows
        interim_ = false;
        parser_.resume();
        if (consumed < length) onTransportData(data + consumed, length - consumed);
        return;
      }
      conclude();
    }
  }

  HeadAction onHeadComplete() override {
    const int status = parser_.statusCode();
    if (status >= 100 && status < 200) interim_ = true;
    return check_.method == "HEAD" ? kNoBody : kProceed;
  }
  void onBody(const char* data, size_t length) override {
    if (check_.body_contains.empty() || body_.size() >= kMaxBodyBytes) return;
    body_.append(data, std::min(length, kMaxBodyBytes - body_.size()));
  }
  void onMessageComplete() override {}

  void conclude() {
    const int status = parser_.statusCode();
    bool expected = false;
    for (const auto& [low, high] : check_.statuses)
      expected = expected || (status >= low && status <= high);
    if (!expected) {
      finish(false, absl::StrCat("status ", status));
      return;
    }
    if (!check_.body_contains.empty() && body_.find(check_.body_contains) == std::string::npos) {
      finish(false, absl::StrCat("body does not contain \"", check_.body_contains, "\""));
      return;
    }
    finish(true, "");
  }

  void onTransportEof() override {
    if (finished_) return;
    if (parser_.finish() == http::Http1Parser::Result::kPaused) {
      conclude();
    } else {
      finish(false, "connection closed before a complete response");
    }
  }
  void onTransportError(int uv_status) override {
    if (!transport_->handshakeError().empty()) {
      finish(false, absl::StrCat("tls handshake: ", transport_->handshakeError()));
      return;
    }
    finish(false,
           absl::StrCat(parser_.inMessage() || parser_.headComplete() ? "read: " : "connect: ",
                        uv_strerror(uv_status)));
  }
  void onTransportClosed() override {
    // The last reference may be this one: release it last.
    std::shared_ptr<ProbeSession> keep = std::move(self_);
  }
  void onTimeout() override { finish(false, "timeout"); }

  core::TimeoutQueue& timeouts_;
  // Owned here, freed when this session goes: only after its close callback ran.
  std::unique_ptr<tls::StreamTransport> transport_;
  http::Http1Parser parser_;
  HealthCheckConfig check_;
  std::string host_header_;
  Done done_;
  std::string request_;  // the caller's request, or empty for the check's own
  uint64_t started_ns_;
  std::string body_;
  std::shared_ptr<ProbeSession> self_;
  bool finished_ = false;
  bool interim_ = false;
};

}  // namespace

std::shared_ptr<Probe> Probe::send(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                                   const core::NetAddress& address, const HealthCheckConfig& check,
                                   std::string request, Done done,
                                   std::shared_ptr<const tls::ClientContext> tls) {
  auto session = std::make_shared<ProbeSession>(loop, timeouts, check, "", std::move(done),
                                                std::move(request));
  session->begin(address, std::move(tls));
  return session;
}

std::string Probe::buildRequest(const HealthCheckConfig& check, const std::string& host_header) {
  return absl::StrCat(check.method, " ", check.path, " HTTP/1.1\r\nHost: ", host_header,
                      "\r\nUser-Agent: switchyard-health-check\r\nAccept: */*\r\n"
                      "Connection: close\r\n\r\n");
}

std::shared_ptr<Probe> Probe::start(uv_loop_t* loop, core::TimeoutQueue& timeouts,
                                    const core::NetAddress& address, const HealthCheckConfig& check,
                                    const std::string& host_header, Done done,
                                    std::shared_ptr<const tls::ClientContext> tls) {
  auto session =
      std::make_shared<ProbeSession>(loop, timeouts, check, host_header, std::move(done));
  session->begin(address, std::move(tls));
  return session;
}

}  // namespace sy::health
