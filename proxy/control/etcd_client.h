#pragma once

// A client for etcd v3's JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/watch,
// /v3/lease/...) on the control loop: libcurl's multi interface driven by libuv (uv_poll on
// curl's sockets, a uv_timer for its timeouts), so nothing blocks the loop. Keys and values are
// base64 in the JSON; int64 fields come back as strings. Control thread only, except
// callBlocking() (before the loop runs). https:// endpoints with libcurl's TLS (OpenSSL), and
// etcd's own authentication (a user, a password, a token per member).

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/uv_handle.h"
#include "nlohmann/json.hpp"

namespace sy::proxy::control {

class EtcdClient {
 public:
  using Done = std::function<void(absl::StatusOr<nlohmann::json>)>;
  using OnMessage = std::function<void(const nlohmann::json&)>;
  using OnEnd = std::function<void(const absl::Status&)>;

  struct Options {
    // "http://HOST:PORT" or "https://HOST:PORT", tried in turn: a transport failure (refused,
    // reset, timeout) or an unavailable member (502, 503, 504) moves to the next one.
    std::vector<std::string> endpoints;
    absl::Duration timeout = absl::Seconds(2);  // of one request, connect included
    // https:// only. Empty ca_file: the system's CAs. server_name: the name etcd's certificate
    // is verified against (and sent in SNI) when the URLs name addresses.
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string server_name;
    // Non-empty: etcd auth. A token from /v3/auth/authenticate goes in every request's
    // Authorization header; taken again when etcd says it is invalid (a restarted member, an
    // expired token) and after a move to another member (simple tokens are per member).
    std::string username;
    std::string password;
  };

  explicit EtcdClient(Options options);
  EtcdClient(std::vector<std::string> endpoints, absl::Duration timeout);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  void start(uv_loop_t* loop);
  // Cancels every request (their callbacks never run); the loop must run once more.
  void close();

  // One request; `done` runs once on the loop with the answer's JSON or the failure (transport,
  // timeout, authentication, non-2xx status with etcd's message).
  uint64_t call(const std::string& path, const nlohmann::json& body, Done done);
  // A streaming request (watch): `on_message` for each JSON message as it arrives, then
  // `on_end` once when the stream ends (an error, or OK if etcd closed it), unless cancelled.
  uint64_t stream(const std::string& path, const nlohmann::json& body, OnMessage on_message,
                  OnEnd on_end);
  void cancel(uint64_t id);

  // The same as call() but blocking, for the start (before any thread or loop runs).
  absl::StatusOr<nlohmann::json> callBlocking(const std::string& path, const nlohmann::json& body);

  const std::string& endpoint() const { return options_.endpoints[current_]; }

  static std::string base64(const std::string& text);
  static std::string unbase64(const std::string& text);

 private:
  struct Request;
  struct Socket;
  struct Outcome;
  bool authEnabled() const { return !options_.username.empty(); }
  void newEasy(Request& request);
  void freeEasy(Request& request);
  uint64_t add(std::unique_ptr<Request> request);
  // Starts a request's transfer, or parks it until a token is there.
  void launch(Request& request);
  void authenticate();
  void tokenArrived(const absl::StatusOr<nlohmann::json>& answer);
  // Ends a request with `status` (its callback runs) without a transfer.
  void fail(uint64_t id, const absl::Status& status);
  // After curl ran: delivers the finished requests and the complete stream messages.
  void afterCurl();
  void socketAction(int fd, int events);
  static int onSocket(void* easy, int fd, int what, void* client, void* socket);
  static int onTimer(void* multi, long timeout_ms, void* client);
  static size_t onData(char* data, size_t size, size_t count, void* request);
  // A request to endpoint `index` failed in transport: the next requests go to the next one
  // (once per failure of the endpoint in use, so that failures of several requests in flight do
  // not skip a member, nor come back round to the dead one).
  void failedAt(size_t index);
  Outcome performBlocking(const std::string& path, const std::string& body, bool with_token);

  Options options_;
  size_t current_ = 0;
  std::string token_;  // etcd auth token for endpoint current_; empty: none yet
  bool authenticating_ = false;
  uv_loop_t* loop_ = nullptr;
  void* multi_ = nullptr;
  core::UvHandle<uv_timer_t> timer_;  // curl's timeout
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Request>> requests_;
};

}  // namespace sy::proxy::control
