#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 256 * 1024;

bool hasHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (core::equalsIgnoreCase(key, name)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (core::equalsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

size_t Response::headerCount(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& field) {
    return core::equalsIgnoreCase(field.first, name);
  }));
}

HttpClient::HttpClient(std::chrono::milliseconds timeout)
    : timeout_(timeout), read_buffer_(kReadChunk) {}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  parser_.reset();
  buffered_.clear();
  peer_closed_ = peer_reset_ = upgraded_ = broken_ = false;
}

bool HttpClient::fail(std::string message) {
  last_error_ = std::move(message);
  return false;
}

bool HttpClient::connect(uint16_t port, std::string_view host) {
  close();
  sockaddr_storage storage{};
  socklen_t length = 0;
  const std::string host_string(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (host == "127.0.0.1" && inet_pton(AF_INET, host_string.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
    host_header_ = absl::StrCat(host_string, ":", port);
  } else if (host == "::1" && inet_pton(AF_INET6, host_string.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
    host_header_ = absl::StrCat("[", host_string, "]:", port);
  } else {
    return fail(absl::StrCat("connect: only 127.0.0.1 and ::1 are allowed, not ", host_string));
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(absl::StrCat("socket: ", std::strerror(errno)));
  fd_ = fd;
  port_ = port;
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source_address_.empty()) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    if (storage.ss_family != AF_INET ||
        inet_pton(AF_INET, source_address_.c_str(), &source.sin_addr) != 1 ||
        (ntohl(source.sin_addr.s_addr) >> 24) != 127) {
      close();
      return fail(
          absl::StrCat("connect: the source address must be an IPv4 loopback address "
                       "for an IPv4 peer, not ",
                       source_address_));
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      const std::string error = std::strerror(errno);
      close();
      return fail(absl::StrCat("bind to ", source_address_, ": ", error));
    }
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    if (errno != EINPROGRESS) {
      const std::string error = std::strerror(errno);
      close();
      return fail(absl::StrCat("connect to ", host_header_, ": ", error));
    }
    if (!waitFor(POLLOUT, Clock::now() + timeout_)) {
      const std::string error = last_error_;
      close();
      return fail(absl::StrCat("connect to ", host_header_, ": ", error));
    }
    int error = 0;
    socklen_t error_length = sizeof error;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) {
      close();
      return fail(absl::StrCat("connect to ", host_header_, ": ", std::strerror(error)));
    }
  }
  parser_ = std::make_unique<http::Http1Parser>(http::Http1Parser::Type::kResponse,
                                                static_cast<http::ParserCallbacks*>(this));
  return true;
}

bool HttpClient::waitFor(short events, Clock::time_point deadline) {
  for (;;) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      return fail(absl::StrCat("timed out after ", timeout_.count(), " ms"));
    }
    pollfd entry{fd_, events, 0};
    const int rc = ::poll(&entry, 1, static_cast<int>(remaining.count()));
    if (rc > 0) return true;  // readable, writable, or an error/hangup the next call reports
    if (rc < 0 && errno != EINTR) return fail(absl::StrCat("poll: ", std::strerror(errno)));
  }
}

bool HttpClient::sendRaw(std::string_view bytes) {
  if (fd_ < 0) return fail("sendRaw: not connected");
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Waiting for the peer to read: the timeout counts from the last progress.
      if (!waitFor(POLLOUT, Clock::now() + timeout_)) {
        return fail(absl::StrCat("send: ", last_error_));
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (errno == ECONNRESET || errno == EPIPE) {
      peer_reset_ = true;
      peer_closed_ = true;
    }
    return fail(absl::StrCat("send: ", std::strerror(errno)));
  }
  return true;
}

ssize_t HttpClient::receive(char* data, size_t length, Clock::time_point deadline) {
  for (;;) {
    const ssize_t n = ::recv(fd_, data, length, 0);
    if (n >= 0) {
      if (n == 0) peer_closed_ = true;
      return n;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!waitFor(POLLIN, deadline)) return -1;
      continue;
    }
    if (errno == ECONNRESET) {
      peer_reset_ = true;
      peer_closed_ = true;
    }
    fail(absl::StrCat("recv: ", std::strerror(errno)));
    return -1;
  }
}

http::ParserCallbacks::HeadAction HttpClient::onHeadComplete() {
  current_.status = parser_->statusCode();
  current_.reason = std::string(parser_->reason());
  current_.version_minor = parser_->versionMinor();
  const http::HeaderBlock& headers = parser_->headers();
  for (size_t i = 0; i < headers.size(); ++i) {
    current_.headers.emplace_back(std::string(headers.name(i)), std::string(headers.value(i)));
  }
  current_.keep_alive = parser_->keepAlive();
  return head_request_ ? kNoBody : kProceed;
}

void HttpClient::onBody(const char* data, size_t length) {
  current_.body_bytes += length;
  if (digest_) {
    sha_.update(data, length);
  } else {
    current_.body.append(data, length);
  }
}

void HttpClient::onMessageComplete() {
  message_done_ = true;
  // llhttp's verdict is final only once the message is complete.
  current_.keep_alive = parser_->keepAlive();
  if (digest_) current_.body_sha256 = sha_.finishHex();
}

bool HttpClient::feed(const char* data, size_t length, bool* failed) {
  size_t consumed = 0;
  const http::Http1Parser::Result result = parser_->execute(data, length, &consumed);
  if (result == http::Http1Parser::Result::kError) {
    *failed = true;
    broken_ = true;
    fail(absl::StrCat("malformed response: ", core::toAbsl(parser_->errorReason())));
    return false;
  }
  if (result == http::Http1Parser::Result::kNeedMore) return false;
  // kPaused: a message ended; keep what follows it for the next read.
  buffered_.append(data + consumed, length - consumed);
  if (current_.status == 101) {
    upgraded_ = true;  // what follows is tunnel data, not HTTP
  } else {
    parser_->resume();
  }
  return true;
}

std::optional<Response> HttpClient::readMessage(bool head_request, bool digest) {
  if (fd_ < 0 || parser_ == nullptr) {
    fail("readResponse: not connected");
    return std::nullopt;
  }
  if (upgraded_) {
    fail("readResponse: the connection was upgraded (101); use readRaw()");
    return std::nullopt;
  }
  if (broken_) {
    fail("readResponse: an earlier response was malformed");
    return std::nullopt;
  }
  current_ = Response{};
  head_request_ = head_request;
  digest_ = digest;
  message_done_ = false;
  bool failed = false;
  if (!buffered_.empty()) {
    std::string input;
    input.swap(buffered_);
    if (feed(input.data(), input.size(), &failed)) return std::move(current_);
    if (failed) return std::nullopt;
  }
  for (;;) {
    if (peer_closed_) {
      // The end of the connection completes a response that runs until close.
      if (parser_->finish() == http::Http1Parser::Result::kPaused && message_done_) {
        return std::move(current_);
      }
      fail(parser_->inMessage() ? "the peer closed the connection in the middle of a response"
                                : "the peer closed the connection without a response");
      if (peer_reset_) absl::StrAppend(&last_error_, " (reset)");
      return std::nullopt;
    }
    const ssize_t n = receive(read_buffer_.data(), read_buffer_.size(), Clock::now() + timeout_);
    if (n < 0) {
      last_error_ = absl::StrCat("readResponse: ", last_error_);
      return std::nullopt;
    }
    if (n == 0) continue;  // EOF: handled at the top of the loop
    if (feed(read_buffer_.data(), static_cast<size_t>(n), &failed)) return std::move(current_);
    if (failed) return std::nullopt;
  }
}

std::optional<Response> HttpClient::readResponse(bool head_request) {
  return readMessage(head_request, false);
}

std::optional<Response> HttpClient::readResponseDigest(bool head_request) {
  return readMessage(head_request, true);
}

std::string HttpClient::buildRequest(std::string_view method, std::string_view path,
                                     const Headers& headers, std::string_view body) const {
  using core::toAbsl;
  std::string out = absl::StrCat(toAbsl(method), " ", toAbsl(path), " HTTP/1.1\r\n");
  if (!hasHeader(headers, "host")) absl::StrAppend(&out, "Host: ", host_header_, "\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if ((!body.empty() || body_method) && !hasHeader(headers, "content-length") &&
      !hasHeader(headers, "transfer-encoding")) {
    absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  }
  out.append("\r\n");
  out.append(body);
  return out;
}

std::optional<Response> HttpClient::request(std::string_view method, std::string_view path,
                                            const Headers& headers, std::string_view body) {
  if (!sendRaw(buildRequest(method, path, headers, body))) return std::nullopt;
  for (;;) {
    std::optional<Response> response = readResponse(method == "HEAD");
    if (!response.has_value() || response->status >= 200 || response->status == 101) {
      return response;
    }
  }
}

std::string HttpClient::readRaw(size_t max_bytes,
                                std::optional<std::chrono::milliseconds> timeout) {
  std::string out;
  const size_t from_buffer = std::min(max_bytes, buffered_.size());
  out.append(buffered_, 0, from_buffer);
  buffered_.erase(0, from_buffer);
  if (fd_ < 0) return out;
  const Clock::time_point deadline = Clock::now() + timeout.value_or(timeout_);
  while (out.size() < max_bytes && !peer_closed_) {
    const size_t want = std::min(max_bytes - out.size(), read_buffer_.size());
    const ssize_t n = receive(read_buffer_.data(), want, deadline);
    if (n <= 0) break;
    out.append(read_buffer_.data(), static_cast<size_t>(n));
  }
  return out;
}

bool HttpClient::waitForPeerClose(std::optional<std::chrono::milliseconds> timeout) {
  if (fd_ < 0) return fail("waitForPeerClose: not connected");
  buffered_.clear();
  const Clock::time_point deadline = Clock::now() + timeout.value_or(timeout_);
  while (!peer_closed_) {
    if (receive(read_buffer_.data(), read_buffer_.size(), deadline) < 0 && !peer_closed_) {
      return false;
    }
  }
  return true;
}

std::optional<Response> httpGet(uint16_t port, std::string_view path, const Headers& headers,
                                std::string* error) {
  HttpClient client;
  std::optional<Response> response;
  if (client.connect(port)) response = client.request("GET", path, headers);
  if (!response.has_value() && error != nullptr) *error = client.lastError();
  return response;
}

}  // namespace sy::testing
