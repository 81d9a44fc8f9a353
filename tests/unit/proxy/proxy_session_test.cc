// ProxySession on its own: one exchange driven by a test ExchangeOwner on a real worker loop,
// forwarding to scripted backends over loopback sockets. The owner plays the client connection
// (it parses the request and collects the response bytes), so these tests see exactly what the
// session asks of its connection: the response, keep-alive, and whether it ended the exchange
// or cut the connection.

#include "proxy/proxy_session.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/worker.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"

namespace sy::proxy {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 20s;  // generous: the machine may be busy

// A backend on 127.0.0.1 that records every request it reads (head and Content-Length body)
// and either answers each with `answer` (keeping the connection) or closes without a word.
class ScriptedBackend {
 public:
  enum class Action { kAnswer, kCloseWithoutAnswer };

  explicit ScriptedBackend(std::string answer, Action action = Action::kAnswer)
      : answer_(std::move(answer)), action_(action) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedBackend() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, buffer] : clients_) ::close(fd);
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const auto& [fd, buffer] : clients_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) clients_[fd];
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        char chunk[4096];
        const ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
        if (n <= 0) {
          ::close(fds[i].fd);
          clients_.erase(fds[i].fd);
          continue;
        }
        std::string& buffer = clients_[fds[i].fd];
        buffer.append(chunk, static_cast<size_t>(n));
        serve(fds[i].fd, buffer);
      }
    }
  }

  // Answers every complete request in `buffer`.
  void serve(int fd, std::string& buffer) {
    while (true) {
      const size_t head_end = buffer.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      size_t body_length = 0;
      const size_t field = buffer.find("Content-Length: ");
      if (field != std::string::npos && field < head_end) {
        body_length = std::stoul(buffer.substr(field + 16));
      }
      const size_t total = head_end + 4 + body_length;
      if (buffer.size() < total) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(buffer.substr(0, total));
      }
      buffer.erase(0, total);
      if (action_ == Action::kCloseWithoutAnswer) {
        ::close(fd);
        clients_.erase(fd);
        return;
      }
      EXPECT_EQ(::write(fd, answer_.data(), answer_.size()), static_cast<ssize_t>(answer_.size()));
    }
  }

  const std::string answer_;
  const Action action_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<int, std::string> clients_;  // backend thread only
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

// A loopback port nothing listens on (connections to it are refused).
uint16_t refusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// How an exchange ended, as its owner saw it.
struct Outcome {
  std::string response;     // every byte the session wrote to the client
  bool finished = false;    // exchangeFinished(): the connection may serve the next request
  bool closed = false;      // closeConnection()
  bool keep_alive = false;  // the session's verdict when it finished
};

// Plays the client connection for one exchange, on the worker's thread.
class TestOwner final : public ExchangeOwner, public http::ParserCallbacks {
 public:
  TestOwner(Worker& worker, std::string request)
      : worker_(worker),
        request_(std::move(request)),
        parser_(http::Http1Parser::Type::kRequest, this) {}

  std::future<Outcome> result() { return done_.get_future(); }

  void run() {
    started_ns_ = uv_hrtime();
    size_t consumed = 0;
    const http::Http1Parser::Result result =
        parser_.execute(request_.data(), request_.size(), &consumed);
    EXPECT_NE(result, http::Http1Parser::Result::kError) << parser_.errorReason();
    if (session_ != nullptr && session_->hasPendingLocalReply()) {
      session_->sendPendingLocalReply();
    }
  }

  // http::ParserCallbacks
  HeadAction onHeadComplete() override {
    session_ = std::make_unique<ProxySession>(worker_, *this, parser_, started_ns_);
    session_->start();
    return kProceed;
  }
  void onBody(const char* data, size_t length) override {
    if (session_ != nullptr) session_->onRequestBody(data, length);
  }
  void onMessageComplete() override {
    if (session_ != nullptr) session_->onRequestComplete();
  }

  // ExchangeOwner
  uint32_t listenerId() const override { return 0; }
  const routing::ListenerSettings& listenerSettings() const override {
    return worker_.currentSnapshot().listeners[0];
  }
  core::NetAddress peerAddress() const override {
    return *core::NetAddress::parse("127.0.0.1:40000");
  }
  const std::string& clientIp() override { return client_ip_; }
  bool clientEof() const override { return false; }
  bool clientSecure() const override { return false; }
  std::optional<tls::TlsDetails> clientTlsDetails() const override { return std::nullopt; }
  void writeToClient(const char* data, size_t length) override {
    outcome_.response.append(data, length);
  }
  void writeToClientCopy(const char* data, size_t length) override {
    outcome_.response.append(data, length);
  }
  void flushClientWrites() override {}
  bool clientAboveHighWatermark() const override { return false; }
  bool withdrawUnsentResponse(uint64_t /*response_bytes*/) override { return false; }
  void shutdownClientWrite() override {}
  void pauseClientReading() override { paused_ = true; }
  bool clientReadingPaused() const override { return paused_; }
  void holdClientReading() override {}
  void resumeClientReading() override { paused_ = false; }
  void scheduleClientTimeout() override {}
  void cancelClientTimeout() override {}
  void enterTunnel(std::string* /*pending*/) override {}
  void exchangeFinished() override {
    outcome_.finished = true;
    outcome_.keep_alive = session_->keepAlive();
    session_.reset();
    done_.set_value(outcome_);
  }
  void closeConnection() override {
    outcome_.closed = true;
    session_->recordCutShort();
    session_.reset();
    done_.set_value(outcome_);
  }

 private:
  Worker& worker_;
  const std::string request_;
  http::Http1Parser parser_;
  std::unique_ptr<ProxySession> session_;
  uint64_t started_ns_ = 0;
  std::string client_ip_ = "127.0.0.1";
  bool paused_ = false;
  Outcome outcome_;
  std::promise<Outcome> done_;
};

class ProxySessionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (worker_ == nullptr) return;
    worker_->post([this] { worker_->stop("shutdown"); });
    worker_->join();
  }

  // Starts a worker (no listener sockets) on a configuration with one pool of `backends`.
  void start(const std::vector<uint16_t>& backends, const std::string& route_extra = "") {
    std::string text = "[[listeners]]\nlisten = \"127.0.0.1:1\"\n[[pools]]\nname = \"app\"\n";
    text += "backends = [";
    for (size_t i = 0; i < backends.size(); ++i) {
      text +=
          (i == 0 ? "\"" : ", \"") + std::string("127.0.0.1:") + std::to_string(backends[i]) + "\"";
    }
    text += "]\n[[routes]]\nname = \"default\"\npool = \"app\"\n" + route_extra;
    routing::config::LoadResult loaded = routing::config::parseConfigText(text, "test.toml");
    ASSERT_TRUE(loaded.ok()) << routing::config::formatErrors(loaded.errors);
    builder_.setWorkerCount(1);
    routing::ConfigSnapshotPtr snapshot =
        builder_.build(std::make_shared<const routing::config::Config>(std::move(*loaded.config)));
    worker_ = std::make_unique<Worker>(0, Worker::Hooks{});
    ASSERT_EQ(worker_->start({}, snapshot), 0);
  }

  // One exchange of `request`, run on the worker.
  Outcome exchange(std::string request) {
    auto owner = std::make_shared<TestOwner>(*worker_, std::move(request));
    std::future<Outcome> result = owner->result();
    EXPECT_TRUE(worker_->post([owner] { owner->run(); }));
    if (result.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "the exchange did not end";
      return {};
    }
    Outcome outcome = result.get();
    // The owner is released on the worker thread, after the session it held is gone.
    worker_->post([owner] {});
    return outcome;
  }

  uint64_t retries() const { return worker_->stats().retries.get(); }

  routing::SnapshotBuilder builder_;
  std::unique_ptr<Worker> worker_;
};

constexpr char kHello[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

TEST_F(ProxySessionTest, ForwardsTheRequestAndRelaysTheResponse) {
  ScriptedBackend backend(kHello);
  start({backend.port()});
  const Outcome outcome = exchange("GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\n\r\n");
  EXPECT_TRUE(outcome.finished);
  EXPECT_FALSE(outcome.closed);
  EXPECT_TRUE(outcome.keep_alive);
  EXPECT_EQ(outcome.response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << outcome.response;
  EXPECT_NE(outcome.response.find("\r\n\r\nhello"), std::string::npos) << outcome.response;
  const std::vector<std::string> seen = backend.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].rfind("GET /a?b=1 HTTP/1.1\r\n", 0), 0u) << seen[0];
  EXPECT_NE(seen[0].find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << seen[0];
}

TEST_F(ProxySessionTest, StreamsTheRequestBodyToTheBackend) {
  ScriptedBackend backend(kHello);
  start({backend.port()});
  const Outcome outcome =
      exchange("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
  EXPECT_TRUE(outcome.finished);
  EXPECT_NE(outcome.response.find("hello"), std::string::npos);
  const std::vector<std::string> seen = backend.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].substr(seen[0].size() - 15), "\r\n\r\nhello world");
}

TEST_F(ProxySessionTest, RetriesARefusedConnectionOnTheOtherBackend) {
  ScriptedBackend backend(kHello);
  start({refusedPort(), backend.port()});
  // Round robin puts the refused backend first for one of two requests: that one is retried.
  for (int i = 0; i < 2; ++i) {
    const Outcome outcome = exchange("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_TRUE(outcome.finished);
    EXPECT_EQ(outcome.response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << outcome.response;
  }
  EXPECT_EQ(backend.requests().size(), 2u);
  EXPECT_GE(retries(), 1u);
}

TEST_F(ProxySessionTest, AnswersBadGatewayWhenEveryBackendRefuses) {
  start({refusedPort()}, "retries = 1\n");
  const Outcome outcome = exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.response.rfind("HTTP/1.1 502 ", 0), 0u) << outcome.response;
}

TEST_F(ProxySessionTest, DoesNotRetryAPostTheBackendDroppedAfterReadingIt) {
  ScriptedBackend backend("", ScriptedBackend::Action::kCloseWithoutAnswer);
  start({backend.port()});
  const Outcome outcome = exchange("POST /pay HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.response.rfind("HTTP/1.1 502 ", 0), 0u) << outcome.response;
  // The backend may have run it: a POST is not sent twice.
  EXPECT_EQ(backend.requests().size(), 1u);
}

TEST_F(ProxySessionTest, AnswersNotFoundWithoutABackendWhenNoRouteMatches) {
  ScriptedBackend backend(kHello);
  start({backend.port()}, "hosts = [\"only.test\"]\n");
  const Outcome outcome = exchange("GET / HTTP/1.1\r\nHost: other.test\r\n\r\n");
  EXPECT_TRUE(outcome.finished);
  EXPECT_TRUE(outcome.keep_alive);
  EXPECT_EQ(outcome.response.rfind("HTTP/1.1 404 ", 0), 0u) << outcome.response;
  EXPECT_TRUE(backend.requests().empty());
}

TEST_F(ProxySessionTest, TheClientsLastRequestEndsWithoutKeepAlive) {
  ScriptedBackend backend(kHello);
  start({backend.port()});
  const Outcome outcome = exchange("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(outcome.finished);
  EXPECT_FALSE(outcome.keep_alive);
  EXPECT_NE(outcome.response.find("Connection: close\r\n"), std::string::npos) << outcome.response;
}

}  // namespace
}  // namespace sy::proxy
