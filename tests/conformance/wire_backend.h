#pragma once

// A backend for exact-bytes tests: it records every byte it receives, cuts that stream into
// requests with the parser (the proxy's forwarded requests are well-formed by construction), and
// answers request i with the scripted bytes `responses[i]`, sent as they are in one write
// (anything: malformed, several responses at once), or with kOkResponse past the script.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sy::testing {

inline constexpr char kOkResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

class WireBackend {
 public:
  // `dribble`: each response goes out one byte per write (TCP_NODELAY), so that the proxy reads
  // it in many pieces.
  explicit WireBackend(std::vector<std::string> responses = {}, bool dribble = false);
  ~WireBackend();
  WireBackend(const WireBackend&) = delete;
  WireBackend& operator=(const WireBackend&) = delete;

  bool ready() const { return thread_.joinable(); }
  uint16_t port() const { return port_; }
  // Everything received, all connections, in order of arrival.
  std::string received() const;
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  struct Connection;
  void run();

  const std::vector<std::string> responses_;
  const bool dribble_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::string received_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace sy::testing
