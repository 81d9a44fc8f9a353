// Header rewriting and the message writer (http/message_writer, request_target): a client
// request stream (or, when the input starts with "HTTP/", a backend response stream) is parsed
// as the proxy parses it; for every message that passes the parser layer's RFC checks, the head
// the proxy would forward is written with options taken from the input's hash, the body is
// framed the way the proxy frames it, and the result is parsed again.
//
// Invariants: the forwarded bytes are exactly one message that re-parses to the same method,
// target (origin-form for an absolute-form target), status, reason, body and framing; its fields
// are the received ones minus the hop-by-hop ones (RFC 9110 §7.6.1), in order, plus what the
// proxy adds; the backend gets the Host the request was routed on; the head has only CRLF line
// ends and no NUL (RFC 9112 §2.2).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strings.h"
#include "fuzz_support.h"
#include "http/message_writer.h"
#include "http/request_target.h"

namespace sy::fuzz {
namespace {

using core::equalsIgnoreCase;
using http::Http1Parser;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr http::ParserLimits kLargeLimits = {1 << 20, 1 << 20, 10000};

// What a forwarded message must look like, from the received one.
struct Forwarded {
  Message received;
  std::string head;                        // written by the message writer at head time
  std::optional<std::string> routed_host;  // the host the proxy routes on; none: no Host
  std::string sent_target;                 // the target the backend must see (request)
  std::string host_suffix;
  bool chunk_body = false;  // the body goes out with chunked framing
  bool keep_alive = true;
  bool head_request = false;
};

// Content-Length and Host are end-to-end even when Connection lists them (RFC 9110 §7.6.1 forbids
// listing them): dropping Content-Length would unframe the forwarded body.
bool namedByConnection(const Fields& fields, std::string_view name) {
  if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "host")) return false;
  for (const auto& [n, v] : fields) {
    if (equalsIgnoreCase(n, "connection") && http::headerHasToken(v, name)) return true;
  }
  return false;
}

// RFC 9110 §7.6.1: Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade
// (and Trailer, Proxy-*) describe one hop, as do the fields the Connection header names.
bool hopByHop(const Fields& fields, std::string_view name) {
  return http::isHopByHopHeader(name) || namedByConnection(fields, name);
}

// `host` ("name", "name:port", "[v6]:port") with `suffix` appended to its name.
std::string withSuffix(const std::string& host, const std::string& suffix) {
  // An IP literal takes no suffix: "[::1]-shadow" would not parse as a host.
  if (!host.empty() && host.front() == '[') return host;
  size_t name_end = host.size();
  if (const size_t colon = host.find(':'); colon != std::string::npos) name_end = colon;
  return host.substr(0, name_end) + suffix + host.substr(name_end);
}

void checkHeadSyntax(std::string_view head) {
  SY_FUZZ_CHECK(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n",
                "forwarded head does not end with an empty line");
  for (size_t i = 0; i < head.size(); ++i) {
    SY_FUZZ_CHECK(head[i] != '\0', "NUL in a forwarded head");
    if (head[i] == '\r')
      SY_FUZZ_CHECK(i + 1 < head.size() && head[i + 1] == '\n', "bare CR in a forwarded head");
    if (head[i] == '\n') SY_FUZZ_CHECK(i > 0 && head[i - 1] == '\r', "bare LF in a forwarded head");
  }
}

// Body bytes as the proxy sends them: one chunk per piece received, or as they came.
std::string frameBody(const Message& message, bool chunk) {
  if (!chunk) return message.body;
  std::string out;
  size_t at = 0;
  for (size_t piece : message.body_pieces) {
    char header[32];
    out.append(header, http::formatChunkHeader(piece, header));
    out.append(message.body, at, piece).append(http::kChunkTrailer);
    at += piece;
  }
  out.append(http::kLastChunk);
  return out;
}

const Message& reparseOne(const std::string& bytes, const FeedOptions& options, Outcome* outcome) {
  *outcome = feed(bytes, wholeCuts(bytes.size()), options);
  SY_FUZZ_CHECK(!outcome->error, "forwarded message does not parse");
  SY_FUZZ_CHECK(outcome->messages.size() == 1, "forwarded bytes are not exactly one message");
  SY_FUZZ_CHECK(outcome->messages[0].end_offset == bytes.size(),
                "bytes left after the forwarded message");
  return outcome->messages[0];
}

void checkForwardedRequest(const Forwarded& f, uint64_t seed) {
  const Message& in = f.received;
  if (requestHeadProblem(in, {}) != nullptr) return;  // the parser layer's finding, not ours
  checkHeadSyntax(f.head);
  const std::string bytes = f.head + frameBody(in, in.chunked);
  FeedOptions options;
  options.limits = kLargeLimits;
  Outcome outcome;
  const Message& out = reparseOne(bytes, options, &outcome);
  SY_FUZZ_CHECK(out.method == in.method, "method changed");
  SY_FUZZ_CHECK(out.url == f.sent_target, "request target changed");
  SY_FUZZ_CHECK(out.major == 1 && out.minor == 1, "not forwarded as HTTP/1.1");
  SY_FUZZ_CHECK(out.body == in.body, "body changed");
  SY_FUZZ_CHECK(out.chunked == in.chunked, "framing changed");

  // The end-to-end fields, in order: everything but hop-by-hop fields and the ones the proxy
  // sets itself. The proxy appends its own after them.
  Fields expected;
  for (const auto& [name, value] : in.headers) {
    if (equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, "x-forwarded-for") ||
        equalsIgnoreCase(name, "x-forwarded-proto") || equalsIgnoreCase(name, "x-real-ip") ||
        equalsIgnoreCase(name, "x-switchyard-mirror") ||
        ((seed & 8) != 0 && equalsIgnoreCase(name, "expect")) || hopByHop(in.headers, name)) {
      continue;
    }
    expected.emplace_back(name, value);
  }
  Fields got;
  std::optional<std::string> host;
  size_t hosts = 0;
  for (const auto& [name, value] : out.headers) {
    if (equalsIgnoreCase(name, "host")) {
      ++hosts;
      host = value;
      continue;
    }
    got.emplace_back(name, value);
  }
  SY_FUZZ_CHECK(hosts == 1, "forwarded request has no single Host");
  // The backend must see the host the request was routed on (the fallback when there was none),
  // with the shadow suffix, if any, right after its name. Searching the sent value for the suffix
  // instead found a name that already contained it ("a.shadowx" sent as "a.shadowx.shadow").
  SY_FUZZ_CHECK(*host == withSuffix(f.routed_host.value_or("pool-a"), f.host_suffix),
                "backend Host differs from the host the request was routed on");
  SY_FUZZ_CHECK(got.size() >= expected.size(), "end-to-end fields dropped");
  for (size_t i = 0; i < expected.size(); ++i) {
    SY_FUZZ_CHECK(got[i] == expected[i], "end-to-end fields changed or reordered");
  }
  for (size_t i = expected.size(); i < got.size(); ++i) {
    const std::string& name = got[i].first;
    SY_FUZZ_CHECK(
        equalsIgnoreCase(name, "x-forwarded-for") || equalsIgnoreCase(name, "x-forwarded-proto") ||
            equalsIgnoreCase(name, "x-real-ip") || equalsIgnoreCase(name, "x-switchyard-mirror") ||
            equalsIgnoreCase(name, "transfer-encoding") || equalsIgnoreCase(name, "upgrade") ||
            equalsIgnoreCase(name, "connection"),
        "unexpected field added");
  }
}

void checkForwardedResponse(const Forwarded& f) {
  const Message& in = f.received;
  if (responseHeadProblem(in, {}) != nullptr) return;  // the parser layer's finding, not ours
  checkHeadSyntax(f.head);
  const bool body_allowed =
      !f.head_request && in.status != 204 && in.status != 304 && in.status >= 200;
  const std::string bytes = f.head + (body_allowed ? frameBody(in, f.chunk_body) : std::string());
  FeedOptions options;
  options.type = Http1Parser::Type::kResponse;
  options.limits = kLargeLimits;
  options.responses_to_head = f.head_request;
  options.finish_at_end = !f.keep_alive;
  Outcome outcome;
  const Message& out = reparseOne(bytes, options, &outcome);
  SY_FUZZ_CHECK(out.status == in.status, "status changed");
  SY_FUZZ_CHECK(out.reason == in.reason, "reason changed");
  SY_FUZZ_CHECK(out.body == in.body, "body changed");
  Fields expected;
  for (const auto& [name, value] : in.headers) {
    if (!hopByHop(in.headers, name)) expected.emplace_back(name, value);
  }
  SY_FUZZ_CHECK(out.headers.size() >= expected.size(), "end-to-end fields dropped");
  for (size_t i = 0; i < expected.size(); ++i) {
    SY_FUZZ_CHECK(out.headers[i] == expected[i], "end-to-end fields changed or reordered");
  }
}

// Parses like the proxy and writes each head at head time, as the proxy does.
class Proxy final : public http::ParserCallbacks {
 public:
  Proxy(Http1Parser::Type type, uint64_t seed) : parser_(type, this), seed_(seed), type_(type) {}

  HeadAction onHeadComplete() override {
    current_ = Forwarded();
    current_.received = headOf(parser_);
    if (type_ == Http1Parser::Type::kRequest) {
      writeRequestHead();
      return kProceed;
    }
    writeResponseHead();
    if (current_.head_request) {
      current_.received.no_body = true;
      current_.received.until_eof = false;
      return kNoBody;
    }
    return kProceed;
  }
  void onBody(const char* data, size_t length) override {
    current_.received.body.append(data, length);
    current_.received.body_pieces.push_back(length);
  }
  void onMessageComplete() override { done_.push_back(std::move(current_)); }

  Http1Parser& parser() { return parser_; }
  std::vector<Forwarded>& done() { return done_; }

 private:
  void writeRequestHead() {
    http::UpstreamRequestOptions options;
    options.client_ip = (seed_ & 1) != 0 ? "127.0.0.1" : "2001:db8::7";
    options.proto = (seed_ & 2) != 0 ? "https" : "http";
    options.host_fallback = "pool-a";
    options.tunnel = parser_.upgrade() && (seed_ & 4) != 0;
    options.drop_expect = (seed_ & 8) != 0;
    if ((seed_ & 16) != 0) options.host_suffix = ".shadow";
    options.drop_header = "X-Switchyard-Mirror";
    if ((seed_ & 32) != 0) options.extra_headers = "X-Switchyard-Mirror: 1\r\n";
    const std::string_view url = parser_.url();
    const auto absolute = http::splitAbsoluteForm(url);
    current_.sent_target = std::string(url);
    if (auto host = parser_.headers().find("host")) current_.routed_host = std::string(*host);
    if (absolute) {
      // As DownstreamConnection: the authority replaces Host and is what routing sees.
      options.target = absolute->origin_form;
      options.host = absolute->authority;
      current_.sent_target = std::string(absolute->origin_form);
      current_.routed_host = std::string(absolute->authority);
    }
    current_.host_suffix = std::string(options.host_suffix);
    http::buildUpstreamRequestHead(parser_, options, &current_.head);
  }

  void writeResponseHead() {
    // As DownstreamConnection::onUpstreamHead.
    const int status = parser_.statusCode();
    http::DownstreamResponseOptions options;
    options.client_http11 = (seed_ & 1) != 0;
    current_.head_request = (seed_ & 6) == 6;
    if (status == 101) {
      options.tunnel = true;
      options.keep_alive = false;
    } else {
      const bool body_allowed = !current_.head_request && status != 204 && status != 304;
      if (body_allowed && !parser_.hasContentLength() &&
          (parser_.chunked() || parser_.bodyUntilEof())) {
        if (options.client_http11) {
          current_.chunk_body = true;
        } else {
          options.keep_alive = false;
        }
      }
      options.chunked_body = current_.chunk_body;
    }
    current_.keep_alive = options.keep_alive;
    if ((seed_ & 32) != 0) options.extra_headers = "X-Switchyard-Pool: blue\r\n";
    http::buildDownstreamResponseHead(parser_, options, &current_.head);
  }

  Http1Parser parser_;
  uint64_t seed_;
  Http1Parser::Type type_;
  Forwarded current_;
  std::vector<Forwarded> done_;
};

}  // namespace
}  // namespace sy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sy::http::Http1Parser;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = sy::fuzz::hashBytes(input);
  const bool responses = input.substr(0, 5) == "HTTP/";
  sy::fuzz::Proxy proxy(responses ? Http1Parser::Type::kResponse : Http1Parser::Type::kRequest,
                        seed);
  Http1Parser& parser = proxy.parser();
  size_t offset = 0;
  bool stop = false;
  while (!stop && offset < input.size()) {
    size_t consumed = 0;
    const Http1Parser::Result result =
        parser.execute(input.data() + offset, input.size() - offset, &consumed);
    offset += consumed;
    if (result != Http1Parser::Result::kPaused) break;
    // As UpstreamConnection: a 101 ends HTTP on the connection (a tunnel follows) even when it
    // lacks the Upgrade field that would make llhttp call it an upgrade; bytes after it are not
    // responses to forward.
    stop = parser.upgrade() || (responses && parser.statusCode() == 101);
    parser.resume();
  }
  // A response delimited by the connection's end completes at EOF.
  if (responses && !stop && parser.finish() == Http1Parser::Result::kPaused) {
    // onMessageComplete() already moved it to done().
  }
  for (const sy::fuzz::Forwarded& forwarded : proxy.done()) {
    if (responses) {
      sy::fuzz::checkForwardedResponse(forwarded);
    } else {
      sy::fuzz::checkForwardedRequest(forwarded, seed);
    }
  }
  return 0;
}
