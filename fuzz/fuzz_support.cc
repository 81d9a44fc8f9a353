#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>

#include "core/strings.h"
#include "http/head_rules.h"
#include "http/request_target.h"

namespace sy::fuzz {
namespace {

using http::Http1Parser;

// Records what the parser delivers, as a connection would act on it.
class Recorder final : public http::ParserCallbacks {
 public:
  Recorder(const FeedOptions& options)
      : options_(options), parser_(options.type, this, options.limits) {}

  Http1Parser& parser() { return parser_; }
  Outcome& outcome() { return outcome_; }

  HeadAction onHeadComplete() override {
    current_ = headOf(parser_);
    if (options_.type == Http1Parser::Type::kResponse && options_.responses_to_head) {
      current_.no_body = true;
      current_.until_eof = false;
      return kNoBody;
    }
    return kProceed;
  }
  void onBody(const char* data, size_t length) override {
    current_.body.append(data, length);
    current_.body_pieces.push_back(length);
  }
  void onMessageComplete() override {
    current_.upgrade = parser_.upgrade();
    outcome_.messages.push_back(std::move(current_));
    current_ = Message();
  }

 private:
  FeedOptions options_;
  Http1Parser parser_;
  Outcome outcome_;
  Message current_;
};

bool isTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

size_t countHeader(const Message& message, std::string_view name) {
  size_t count = 0;
  for (const auto& [n, v] : message.headers) count += core::equalsIgnoreCase(n, name) ? 1 : 0;
  return count;
}

bool allDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Checks shared by requests and responses; nullptr when fine.
const char* commonHeadProblem(const Message& message, std::string_view raw) {
  // RFC 9112 §2.3: this is an HTTP/1.x parser; other major versions are not HTTP/1 messages.
  if (message.major != 1) return "version is not HTTP/1.x";
  for (const auto& [name, value] : message.headers) {
    if (!isToken(name)) return "field name is not a token (RFC 9110 §5.1)";
    if (!isCleanFieldValue(value))
      return "field value has CR/LF/NUL or edge whitespace (RFC 9110 §5.5)";
  }
  // RFC 9112 §6.1 / §6.3: both framings at once is a smuggling vector; reject.
  const size_t content_lengths = countHeader(message, "content-length");
  const size_t transfer_encodings = countHeader(message, "transfer-encoding");
  if (content_lengths > 0 && transfer_encodings > 0) return "Content-Length with Transfer-Encoding";
  if (content_lengths > 1) return "more than one Content-Length field";
  for (const auto& [name, value] : message.headers) {
    if (core::equalsIgnoreCase(name, "content-length") && !allDigits(value)) {
      return "Content-Length is not 1*DIGIT (RFC 9110 §8.6)";
    }
  }
  if (message.chunked && message.has_content_length) return "chunked and a content length";
  if (!raw.empty() && !headHasNoBareCrOrNul(raw))
    return "bare CR or NUL in the head (RFC 9112 §2.2)";
  return nullptr;
}

}  // namespace

Message headOf(const Http1Parser& parser) {
  Message message;
  message.method = std::string(parser.methodName());
  message.url = std::string(parser.url());
  message.status = parser.statusCode();
  message.reason = std::string(parser.reason());
  message.major = parser.versionMajor();
  message.minor = parser.versionMinor();
  const http::HeaderBlock& headers = parser.headers();
  for (size_t i = 0; i < headers.size(); ++i) {
    message.headers.emplace_back(headers.name(i), headers.value(i));
  }
  message.chunked = parser.chunked();
  message.has_content_length = parser.hasContentLength();
  message.content_length = parser.contentLength();
  message.until_eof = parser.bodyUntilEof();
  message.upgrade = parser.upgrade();
  return message;
}

void fail(const char* invariant, std::string_view detail) {
  std::fprintf(stderr, "\n*** fuzz invariant broken: %s\n    (%.*s)\n", invariant,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool Message::sameAs(const Message& o) const {
  return method == o.method && url == o.url && status == o.status && reason == o.reason &&
         major == o.major && minor == o.minor && headers == o.headers && body == o.body &&
         chunked == o.chunked && has_content_length == o.has_content_length &&
         content_length == o.content_length && until_eof == o.until_eof && upgrade == o.upgrade &&
         no_body == o.no_body;
}

Outcome feed(std::string_view data, const std::vector<size_t>& cuts, const FeedOptions& options) {
  Recorder recorder(options);
  Http1Parser& parser = recorder.parser();
  Outcome& outcome = recorder.outcome();
  size_t offset = 0;
  for (size_t cut : cuts) {
    while (offset < cut) {
      size_t consumed = 0;
      const Http1Parser::Result result =
          parser.execute(data.data() + offset, cut - offset, &consumed);
      SY_FUZZ_CHECK(consumed <= cut - offset, "parser consumed more than it was given");
      offset += consumed;
      if (result == Http1Parser::Result::kError) {
        outcome.error = true;
        outcome.error_status = parser.errorStatus();
        return outcome;
      }
      if (result == Http1Parser::Result::kNeedMore) {
        SY_FUZZ_CHECK(offset == cut, "kNeedMore without consuming the read");
        break;
      }
      // kPaused: one message ended.
      SY_FUZZ_CHECK(!outcome.messages.empty(), "paused without a completed message");
      outcome.messages.back().end_offset = offset;
      // After an Upgrade or CONNECT request, or any 101 response, the bytes that follow are not
      // HTTP: UpstreamConnection tunnels after a 101 whether or not it names the new protocol
      // (llhttp marks only one with Upgrade and Connection: upgrade as an upgrade).
      const Message& last = outcome.messages.back();
      const bool switching = options.type == Http1Parser::Type::kResponse && last.status == 101;
      if (last.upgrade || switching) {
        outcome.tunnel = true;
        return outcome;
      }
      parser.resume();
    }
  }
  if (options.finish_at_end) {
    const size_t before = outcome.messages.size();
    const Http1Parser::Result result = parser.finish();
    if (result == Http1Parser::Result::kError) {
      outcome.error = true;
      outcome.error_status = parser.errorStatus();
    } else if (outcome.messages.size() > before) {
      outcome.messages.back().end_offset = data.size();
    }
  }
  return outcome;
}

std::vector<size_t> wholeCuts(size_t size) { return {size}; }

std::vector<size_t> byteCuts(size_t size) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i <= size; ++i) cuts.push_back(i);
  return cuts;
}

std::vector<size_t> randomCuts(size_t size, uint64_t seed) {
  std::vector<size_t> cuts;
  uint64_t state = seed | 1;
  size_t at = 0;
  while (at < size) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    at += 1 + state % 17;
    if (at > size) at = size;
    cuts.push_back(at);
  }
  if (cuts.empty()) cuts.push_back(0);
  return cuts;
}

uint64_t hashBytes(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  return h;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    if (!isTchar(c)) return false;
  }
  return true;
}

bool isCleanFieldValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t')) {
    return false;
  }
  return true;
}

bool headHasNoBareCrOrNul(std::string_view raw) {
  // Empty lines before a request line are skipped by recipients (RFC 9112 §2.2).
  while (!raw.empty() &&
         (raw.front() == '\n' || (raw.size() > 1 && raw[0] == '\r' && raw[1] == '\n'))) {
    raw.remove_prefix(raw.front() == '\n' ? 1 : 2);
  }
  // The head ends at the first empty line (LF alone is a line end a recipient may accept).
  size_t end = raw.size();
  const size_t crlf = raw.find("\n\r\n");
  const size_t lf = raw.find("\n\n");
  if (crlf != std::string_view::npos) end = crlf + 3;
  if (lf != std::string_view::npos && lf + 2 < end) end = lf + 2;
  const std::string_view head = raw.substr(0, end);
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\0') return false;
    if (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) return false;
  }
  return true;
}

const char* requestHeadProblem(const Message& message, std::string_view raw) {
  if (!isToken(message.method)) return "method is not a token (RFC 9110 §9.1)";
  if (message.url.empty()) return "empty request target";
  for (unsigned char c : message.url) {
    if (c <= 0x20 || c == 0x7f) return "whitespace or CTL in the request target (RFC 9112 §3.2)";
  }
  if (const char* problem = commonHeadProblem(message, raw)) return problem;
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one otherwise.
  const size_t hosts = countHeader(message, "host");
  if (hosts > 1) return "more than one Host";
  if (hosts == 0 && message.minor >= 1) return "HTTP/1.1 request without Host";
  // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host, so it must be a valid
  // host (and not empty, RFC 9110 §4.2.1).
  if (const auto absolute = http::splitAbsoluteForm(message.url);
      absolute && (absolute->authority.empty() || !http::isValidHostValue(absolute->authority))) {
    return "absolute-form target without a valid host";
  }
  // RFC 9112 §6.1: a request with Transfer-Encoding whose final coding is not chunked: 400.
  if (countHeader(message, "transfer-encoding") > 0 && !message.chunked) {
    return "Transfer-Encoding without final chunked";
  }
  // RFC 9110 §9.3.6: a CONNECT request has no content; the bytes after its head are tunnel data,
  // so one announcing content (chunked, or a Content-Length above 0) must be refused, not read
  // with a body that the next hop would frame otherwise.
  if (message.method == "CONNECT" &&
      (message.chunked || countHeader(message, "transfer-encoding") > 0 ||
       message.content_length > 0)) {
    return "CONNECT request with content (RFC 9110 §9.3.6)";
  }
  if (message.has_content_length && !message.chunked &&
      message.body.size() != message.content_length) {
    return "body length differs from Content-Length";
  }
  // RFC 9112 §6.3 rule 7: a request without framing has no body.
  if (!message.has_content_length && !message.chunked && !message.body.empty()) {
    return "body on a request without Content-Length or chunked";
  }
  return nullptr;
}

const char* responseHeadProblem(const Message& message, std::string_view raw) {
  // RFC 9110 §15: status codes are 100..599.
  if (message.status < 100 || message.status > 599) return "status code outside 100..599";
  for (char c : message.reason) {
    if (c == '\r' || c == '\n' || c == '\0') return "CR/LF/NUL in the reason phrase (RFC 9112 §4)";
  }
  if (const char* problem = commonHeadProblem(message, raw)) return problem;
  // RFC 9112 §6.3 rule 1: 1xx, 204 and 304 responses (and answers to HEAD) end at the head.
  const bool bodiless = message.no_body || (message.status >= 100 && message.status < 200) ||
                        message.status == 204 || message.status == 304;
  if (bodiless && (!message.body.empty() || message.until_eof)) {
    return "body on a 1xx/204/304 response or on the answer to HEAD (RFC 9112 §6.3)";
  }
  if (!bodiless && message.has_content_length && !message.chunked &&
      message.body.size() != message.content_length) {
    return "body length differs from Content-Length";
  }
  return nullptr;
}

Outcome checkParserLayer(std::string_view input, const FeedOptions& options) {
  const bool requests = options.type == Http1Parser::Type::kRequest;
  Outcome whole = feed(input, wholeCuts(input.size()), options);
  size_t start = 0;
  for (const Message& message : whole.messages) {
    SY_FUZZ_CHECK(message.end_offset >= start && message.end_offset <= input.size(),
                  "message end outside the input");
    const std::string_view raw = input.substr(start, message.end_offset - start);
    const char* problem =
        requests ? requestHeadProblem(message, raw) : responseHeadProblem(message, raw);
    if (problem != nullptr)
      fail(problem, requests ? message.method + " " + message.url : message.reason);
    start = message.end_offset;
  }
  const std::vector<size_t> patterns[] = {byteCuts(input.size()),
                                          randomCuts(input.size(), hashBytes(input))};
  for (const std::vector<size_t>& cuts : patterns) {
    const Outcome split = feed(input, cuts, options);
    SY_FUZZ_CHECK(split.messages.size() == whole.messages.size(),
                  "split reads change the number of messages");
    for (size_t i = 0; i < whole.messages.size(); ++i) {
      SY_FUZZ_CHECK(split.messages[i].sameAs(whole.messages[i]), "split reads change a message");
    }
    SY_FUZZ_CHECK(split.error == whole.error, "split reads change whether the input is an error");
    SY_FUZZ_CHECK(split.tunnel == whole.tunnel, "split reads change the upgrade decision");
  }
  return whole;
}

}  // namespace sy::fuzz
