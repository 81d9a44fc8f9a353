#pragma once

// A blocking HTTP/1.1 client for tests, over plain TCP to 127.0.0.1 or ::1.
//
// Every wait on the socket is bounded by the client's timeout (10 s unless set): a call fails
// after that long without progress, so no test can hang on a silent peer. Calls report failure
// through their return value; lastError() says why.
//
//   HttpClient client;
//   ASSERT_TRUE(client.connect(port)) << client.lastError();
//   std::optional<Response> response = client.request("GET", "/");
//   ASSERT_TRUE(response) << client.lastError();
//   EXPECT_EQ(response->status, 200);

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http1_parser.h"
#include "tests/support/digest.h"

namespace sy::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  std::string reason;
  int version_minor = 1;  // HTTP/1.x
  Headers headers;        // in received order, names as sent
  // The decoded body (chunk framing removed). Empty when read with readResponseDigest().
  std::string body;
  // Decoded body size, in both modes.
  uint64_t body_bytes = 0;
  // Lowercase hex SHA-256 of the body; only set by readResponseDigest().
  std::string body_sha256;
  // The server keeps the connection open after this response (llhttp's verdict).
  bool keep_alive = false;

  // The first value of `name`, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
  // How many fields named `name` (case-insensitive) the response has.
  size_t headerCount(std::string_view name) const;
};

class HttpClient final : private http::ParserCallbacks {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{10000};

  explicit HttpClient(std::chrono::milliseconds timeout = kDefaultTimeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects to host:port; `host` must be "127.0.0.1" or "::1". Closes a previous connection.
  bool connect(uint16_t port, std::string_view host = "127.0.0.1");
  bool connected() const { return fd_ >= 0; }
  // Later IPv4 connects leave from this loopback address ("127.0.0.2": all of 127.0.0.0/8 is
  // on the loopback interface), so one test can be many clients. "" (default): the kernel's
  // choice.
  void setSourceAddress(std::string address) { source_address_ = std::move(address); }
  void close();
  void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Sends all of `bytes`.
  bool sendRaw(std::string_view bytes);

  // Reads the next response message on the connection. A 1xx interim response (100 Continue)
  // is returned as a response of its own: call again for the final one. After a 101, the
  // connection is a raw tunnel: use readRaw()/sendRaw(), readResponse() fails. Pass
  // `head_request` when the request was HEAD (the response then has no body whatever its
  // headers say).
  std::optional<Response> readResponse(bool head_request = false);
  // Like readResponse(), but the body is hashed as it streams in and not kept: `body` stays
  // empty, `body_bytes` and `body_sha256` are set. Memory stays flat for any body size.
  std::optional<Response> readResponseDigest(bool head_request = false);

  // Builds a request: "METHOD path HTTP/1.1", Host (unless `headers` has one), `headers`,
  // Content-Length when there is a body (or for POST/PUT/PATCH), unless `headers` already have
  // Content-Length or Transfer-Encoding.
  std::string buildRequest(std::string_view method, std::string_view path,
                           const Headers& headers = {}, std::string_view body = {}) const;
  // Sends buildRequest(...) and reads the final response: 1xx interim responses (other than
  // 101) are skipped.
  std::optional<Response> request(std::string_view method, std::string_view path,
                                  const Headers& headers = {}, std::string_view body = {});

  // Returns up to `max_bytes` raw bytes: what is buffered first, then whatever arrives until
  // `max_bytes` are there, the peer closes, or `timeout` (default: the client's) passes.
  std::string readRaw(size_t max_bytes, std::optional<std::chrono::milliseconds> timeout = {});

  // Reads and drops input until the peer closes (FIN or RST: true) or `timeout` passes (false).
  bool waitForPeerClose(std::optional<std::chrono::milliseconds> timeout = {});
  // The peer closed (FIN or RST) as seen by some read.
  bool peerClosed() const { return peer_closed_; }
  // A read or write failed with ECONNRESET (or EPIPE): the peer sent a TCP RST.
  bool peerReset() const { return peer_reset_; }

  const std::string& lastError() const { return last_error_; }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

 private:
  HeadAction onHeadComplete() override;
  void onBody(const char* data, size_t length) override;
  void onMessageComplete() override;

  std::optional<Response> readMessage(bool head_request, bool digest);
  // Feeds bytes to the parser; true once a message is complete (the rest stays buffered).
  bool feed(const char* data, size_t length, bool* failed);
  // Waits for `events` on the socket until `deadline`; false on timeout or error.
  bool waitFor(short events, std::chrono::steady_clock::time_point deadline);
  // recv() with the timeout: >0 bytes, 0 on EOF, -1 on error or timeout (lastError set).
  ssize_t receive(char* data, size_t length, std::chrono::steady_clock::time_point deadline);
  bool fail(std::string message);

  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string host_header_;
  std::string source_address_;
  std::string last_error_;
  std::unique_ptr<http::Http1Parser> parser_;
  std::vector<char> read_buffer_;
  // Received bytes the parser has not consumed yet (after a message that ended mid-read).
  std::string buffered_;
  bool peer_closed_ = false;
  bool peer_reset_ = false;
  bool upgraded_ = false;
  bool broken_ = false;

  // The message being read.
  Response current_;
  bool head_request_ = false;
  bool digest_ = false;
  bool message_done_ = false;
  Sha256 sha_;
};

// One request on a fresh connection: GET `path` from 127.0.0.1:`port`, then close. On failure,
// returns nullopt and, if `error` is given, stores why.
std::optional<Response> httpGet(uint16_t port, std::string_view path, const Headers& headers = {},
                                std::string* error = nullptr);

}  // namespace sy::testing
