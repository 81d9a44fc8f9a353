#pragma once

// A webhook receiver for the rollout tests: a real socket on 127.0.0.1 served by a thread of
// the test. Each request (head plus its Content-Length body) is recorded with its JSON body and
// answered with the status set at the time, then the connection is closed.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace sy::testing {

class WebhookReceiver {
 public:
  struct Call {
    std::string target;   // "/gate"
    nlohmann::json body;  // null when the body was not JSON
  };

  explicit WebhookReceiver(int status = 200);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path) const;
  // The status answered from now on.
  void setStatus(int status) { status_.store(status); }
  std::vector<Call> calls() const;
  size_t count() const;

 private:
  bool waitReadable(int fd);
  void run();
  void serve(int fd);

  std::atomic<int> status_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::vector<Call> calls_;
  std::thread thread_;
};

}  // namespace sy::testing
