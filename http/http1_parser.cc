#include "http/http1_parser.h"

#include <algorithm>
#include <cstring>

#include "http/head_rules.h"
#include "http/method_rules.h"
#include "http/request_target.h"

namespace sy::http {
namespace {

Http1Parser* self(llhttp_t* parser) { return static_cast<Http1Parser*>(parser->data); }

}  // namespace

const llhttp_settings_t* Http1Parser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &Http1Parser::onMessageBegin;
    s.on_url = &Http1Parser::onUrl;
    s.on_version = &Http1Parser::onVersion;
    s.on_status = &Http1Parser::onStatus;
    s.on_header_field = &Http1Parser::onHeaderField;
    s.on_header_value = &Http1Parser::onHeaderValue;
    s.on_header_value_complete = &Http1Parser::onHeaderValueComplete;
    s.on_headers_complete = &Http1Parser::onHeadersComplete;
    s.on_body = &Http1Parser::onBody;
    s.on_chunk_header = &Http1Parser::onChunkHeader;
    s.on_message_complete = &Http1Parser::onMessageCompleteCb;
    return s;
  }();
  return &kSettings;
}

Http1Parser::Http1Parser(Type type, ParserCallbacks* callbacks, const ParserLimits& limits)
    : callbacks_(callbacks), limits_(limits), type_(type) {
  llhttp_init(&parser_, type == Type::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, settings());
  parser_.data = this;
}

std::string_view Http1Parser::methodName() const {
  if (extension_method_length_ > 0) {
    return headers_.extra(extension_method_offset_, extension_method_length_);
  }
  return llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
}

llhttp_errno_t Http1Parser::executePiece(const char* data, size_t length) {
  buffer_begin_ = data;
  buffer_end_ = data + length;
  const llhttp_errno_t err = llhttp_execute(&parser_, data, length);
  rememberLineTail(data, length);
  // Does the input so far end in a line break and whitespace? A value that starts the next
  // piece is then a folded continuation line (see onHeaderValue).
  const char* c = data + length;
  while (c > data && (c[-1] == ' ' || c[-1] == '\t')) --c;
  if (c > data) after_line_break_ = c[-1] == '\n';
  return err;
}

size_t Http1Parser::feedEmptyLines(const char* data, size_t length, bool* ok) {
  *ok = true;
  // Empty lines before a start line are llhttp's to skip (RFC 9112 §2.2), but llhttp skips a CR
  // on its own too, before requests and responses alike: a CR must be followed by LF here as
  // everywhere in a head (RFC 9112 §2.2, a bare CR is invalid).
  size_t end = 0;
  for (; end < length && (data[end] == '\r' || data[end] == '\n'); ++end) {
    if (leading_cr_ && data[end] != '\n') break;
    leading_cr_ = data[end] == '\r';
  }
  if (leading_cr_ && end < length) {
    leading_cr_ = false;
    if (type_ == Type::kRequest) {
      fail(400, "bare CR before the request line");
    } else {
      fail(502, "bare CR before the status line");
    }
    *ok = false;
    return 0;
  }
  // Empty lines go on their own, so that the message's byte count starts at its first byte.
  if (end > 0 && executePiece(data, end) != HPE_OK) {
    *ok = false;
    return 0;
  }
  return end;
}

size_t Http1Parser::feedRequestMethod(const char* data, size_t length, bool* ok) {
  *ok = true;
  size_t begin = 0;
  if (method_hold_length_ == 0) {
    begin = feedEmptyLines(data, length, ok);
    if (!*ok) return 0;
  }
  size_t end = begin;
  while (end < length && isMethodChar(data[end])) {
    if (method_hold_length_ + (end - begin) >= kMaxMethodBytes) {
      method_hold_length_ = 0;
      fail(400, "request method too long");
      *ok = false;
      return 0;
    }
    ++end;
  }
  if (end == length && end > begin) {
    // The method goes on in the next read: hold it (llhttp would refuse a prefix it does not
    // know).
    std::memcpy(method_hold_ + method_hold_length_, data + begin, end - begin);
    method_hold_length_ += static_cast<uint8_t>(end - begin);
    return length;
  }
  char method_bytes[kMaxMethodBytes];
  const size_t held = method_hold_length_;
  std::memcpy(method_bytes, method_hold_, held);
  std::memcpy(method_bytes + held, data + begin, end - begin);
  const std::string_view method(method_bytes, held + end - begin);
  method_hold_length_ = 0;
  const bool extension =
      end < length && data[end] == ' ' && !method.empty() && llhttpMethodNamed(method) < 0;
  if (!extension && held == 0) return begin;  // the method is in this read: llhttp judges it
  // An extension method is shown to llhttp as POST: no special framing (unlike HEAD or
  // CONNECT), neither safe nor idempotent for whoever asks method().
  const std::string_view shown = extension ? std::string_view("POST") : method;
  if (executePiece(shown.data(), shown.size()) != HPE_OK) {
    *ok = false;
    return 0;
  }
  // onMessageBegin ran on the first byte shown: the message starts with the real method.
  message_bytes_ = method.size();
  if (extension) {
    extension_method_offset_ = headers_.appendExtra(method.data(), method.size());
    extension_method_length_ = static_cast<uint8_t>(method.size());
  }
  return end;
}

Http1Parser::Result Http1Parser::execute(const char* data, size_t length, size_t* consumed) {
  if (!in_message_ && llhttp_get_errno(&parser_) == HPE_OK) {
    bool ok = true;
    const size_t used = type_ == Type::kRequest ? feedRequestMethod(data, length, &ok)
                                                : feedEmptyLines(data, length, &ok);
    if (!ok) {
      *consumed = 0;
      adoptLlhttpError(llhttp_get_errno(&parser_));
      parser_.error = HPE_USER;  // llhttp refuses any further input, as after its own errors
      parser_.reason = error_reason_;
      return Result::kError;
    }
    if (used == length) {
      *consumed = length;
      return Result::kNeedMore;
    }
    if (used > 0) {
      size_t rest = 0;
      const Result result = execute(data + used, length - used, &rest);
      *consumed = used + rest;
      return result;
    }
  }
  buffer_begin_ = data;
  buffer_end_ = data + length;
  // A value still open when a buffer starts with CR or LF has reached its line end: a further
  // piece of it can only be a folded continuation line (reads of one byte show this).
  if (value_open_ && length > 0 && (data[0] == '\r' || data[0] == '\n')) value_line_ended_ = true;
  // The previous buffer ended within chunk data or its CRLF: the rest of the CRLF starts here.
  if (chunk_crlf_pending_ > 0 && llhttp_get_errno(&parser_) == HPE_OK && !checkChunkDataEnd(data)) {
    fail(type_ == Type::kRequest ? 400 : 502, "chunk data not followed by CRLF");
    parser_.error = HPE_USER;  // llhttp refuses any further input, as after its own errors
    parser_.reason = error_reason_;
    *consumed = 0;
    return Result::kError;
  }
  const llhttp_errno_t err = executePiece(data, length);
  switch (err) {
    case HPE_OK:
      *consumed = length;
      if (counting_bytes_) message_bytes_ += length;
      return Result::kNeedMore;
    case HPE_PAUSED:
    case HPE_PAUSED_UPGRADE:
      *consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      // Counted until the message's end; bytes before its start in this buffer can only be the
      // empty lines llhttp skips between messages.
      if (counting_bytes_) message_bytes_ += *consumed;
      counting_bytes_ = false;
      return Result::kPaused;
    default: {
      const char* pos = llhttp_get_error_pos(&parser_);
      *consumed = pos != nullptr ? static_cast<size_t>(pos - data) : 0;
      if (counting_bytes_) message_bytes_ += *consumed;
      adoptLlhttpError(err);
      return Result::kError;
    }
  }
}

void Http1Parser::adoptLlhttpError(llhttp_errno_t err) {
  if (error_status_ != 0) return;  // a check of ours refused it and said why
  error_status_ = type_ == Type::kRequest ? 400 : 502;
  error_reason_ = llhttp_get_error_reason(&parser_);
  if (error_reason_ == nullptr) error_reason_ = llhttp_errno_name(err);
}

void Http1Parser::rememberLineTail(const char* data, size_t length) {
  // Only the start line needs a look back across reads (onVersion); keep the last bytes.
  if (length >= sizeof line_tail_) {
    std::memcpy(line_tail_, data + length - sizeof line_tail_, sizeof line_tail_);
    line_tail_length_ = sizeof line_tail_;
    return;
  }
  const size_t keep = std::min<size_t>(line_tail_length_, sizeof line_tail_ - length);
  std::memmove(line_tail_, line_tail_ + line_tail_length_ - keep, keep);
  std::memcpy(line_tail_ + keep, data, length);
  line_tail_length_ = keep + length;
}

void Http1Parser::resume() {
  // After an Upgrade (or CONNECT) request that was not tunnelled, llhttp waits in its own pause
  // state, which plain llhttp_resume() leaves alone.
  if (llhttp_get_errno(&parser_) == HPE_PAUSED_UPGRADE) {
    llhttp_resume_after_upgrade(&parser_);
  } else {
    llhttp_resume(&parser_);
  }
}

Http1Parser::Result Http1Parser::finish() {
  if (method_hold_length_ > 0 && error_status_ == 0) {
    error_status_ = 400;
    error_reason_ = "connection closed before the message was complete";
    return Result::kError;
  }
  // Closed between messages: nothing was cut short. llhttp alone would call it an unsafe EOF
  // when the last message ended on the last byte it saw, since it marks the end safe only on its
  // next execute (our onMessageComplete pauses it first).
  if (!in_message_ && method_hold_length_ == 0 && error_status_ == 0) return Result::kNeedMore;
  const bool was_in_message = in_message_;
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_OK || err == HPE_PAUSED) {
    return (was_in_message && !in_message_) ? Result::kPaused : Result::kNeedMore;
  }
  if (error_status_ == 0) {
    error_status_ = type_ == Type::kRequest ? 400 : 502;
    error_reason_ = "connection closed before the message was complete";
  }
  return Result::kError;
}

int Http1Parser::fail(int status, const char* reason) {
  error_status_ = status;
  error_reason_ = reason;
  return HPE_USER;
}

int Http1Parser::onMessageBegin(llhttp_t* parser) {
  Http1Parser* p = self(parser);
  p->headers_.clear();
  // A head built in one allocation per buffer rather than grown from nothing (an upstream
  // response: 6 allocations instead of 2; with many exchanges in flight glibc's per-thread
  // cache runs dry and each one takes malloc's slow path). A no-op when the block kept its
  // buffers.
  p->headers_.reserve(kHeadReserveBytes, kHeadReserveFields);
  p->url_offset_ = p->url_length_ = 0;
  p->extension_method_length_ = 0;
  p->reason_offset_ = p->reason_length_ = 0;
  p->header_bytes_ = 0;
  p->content_length_ = 0;
  p->message_bytes_ = 0;
  p->counting_bytes_ = true;
  p->chunk_remaining_ = 0;
  p->chunk_crlf_pending_ = 0;
  p->value_open_ = false;
  p->value_line_ended_ = false;
  p->last_value_end_ = nullptr;
  p->in_message_ = true;
  p->head_complete_ = false;
  p->until_eof_ = false;
  p->http_protocol_ = false;
  p->version_seen_ = false;
  p->close_after_ = false;
  return 0;
}

int Http1Parser::onVersion(llhttp_t* parser, const char* at, size_t /*length*/) {
  // The protocol name ends right before the version ("HTTP/" + "1.1"); it may have arrived at
  // the end of the previous buffer, kept in line_tail_.
  Http1Parser* p = self(parser);
  // A version split across reads comes in pieces; the protocol precedes the first one only.
  if (p->version_seen_) return 0;
  p->version_seen_ = true;
  char before[5] = {0, 0, 0, 0, 0};
  const size_t in_buffer = std::min<size_t>(5, static_cast<size_t>(at - p->buffer_begin_));
  const size_t from_tail = std::min<size_t>(5 - in_buffer, p->line_tail_length_);
  for (size_t i = 0; i < from_tail; ++i) {
    before[5 - in_buffer - from_tail + i] = p->line_tail_[p->line_tail_length_ - from_tail + i];
  }
  for (size_t i = 0; i < in_buffer; ++i)
    before[5 - in_buffer + i] = at[-static_cast<long>(in_buffer) + static_cast<long>(i)];
  p->http_protocol_ = std::string_view(before, 5) == "HTTP/";
  return 0;
}

int Http1Parser::onUrl(llhttp_t* parser, const char* at, size_t length) {
  Http1Parser* p = self(parser);
  if (p->url_length_ + length > p->limits_.max_url_bytes) {
    return p->fail(414, "request target too long");
  }
  const uint32_t offset = p->headers_.appendExtra(at, length);
  if (p->url_length_ == 0) p->url_offset_ = offset;
  p->url_length_ += static_cast<uint32_t>(length);
  return 0;
}

int Http1Parser::onStatus(llhttp_t* parser, const char* at, size_t length) {
  Http1Parser* p = self(parser);
  if (p->reason_length_ + length > 1024) return p->fail(502, "status line too long");
  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) (RFC 9112 §4); llhttp 8.1.0 lets other
  // control bytes (NUL included) through, and they would be relayed to the client.
  for (size_t i = 0; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(at[i]);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
      return p->fail(502, "control character in the reason phrase");
    }
  }
  const uint32_t offset = p->headers_.appendExtra(at, length);
  if (p->reason_length_ == 0) p->reason_offset_ = offset;
  p->reason_length_ += static_cast<uint32_t>(length);
  return 0;
}

int Http1Parser::onHeaderField(llhttp_t* parser, const char* at, size_t length) {
  Http1Parser* p = self(parser);
  const int too_large = p->type_ == Type::kRequest ? 431 : 502;
  for (size_t i = 0; i < length; ++i) {
    if (at[i] == ' ' || at[i] == '\t') {
      return p->fail(p->type_ == Type::kRequest ? 400 : 502, "whitespace in a header name");
    }
  }
  p->header_bytes_ += static_cast<uint32_t>(length);
  if (p->header_bytes_ > p->limits_.max_header_bytes) {
    return p->fail(too_large, "request header fields too large");
  }
  p->headers_.appendName(at, length);
  if (p->headers_.size() > p->limits_.max_header_count) {
    return p->fail(too_large, "too many header fields");
  }
  return 0;
}

int Http1Parser::onHeaderValue(llhttp_t* parser, const char* at, size_t length) {
  Http1Parser* p = self(parser);
  // llhttp reports an empty value as an empty piece, positioned anywhere; it carries nothing.
  if (length == 0) return 0;
  const int malformed = p->type_ == Type::kRequest ? 400 : 502;
  // llhttp reports an obs-fold continuation as a second value span of the same field. A value
  // may also arrive in pieces because it straddles two reads; that case is the only one where
  // the previous piece ended exactly at the end of its buffer and this one starts a new buffer.
  if (p->value_open_) {
    if (p->last_value_end_ != nullptr || at != p->buffer_begin_ || p->value_line_ended_) {
      return p->fail(malformed, "obsolete line folding in a header value");
    }
  } else {
    // llhttp skips leading whitespace of a value, so a first piece that starts with whitespace,
    // or that follows a line break, is a folded continuation of an empty value.
    if (length > 0 && (at[0] == ' ' || at[0] == '\t')) {
      return p->fail(malformed, "obsolete line folding in a header value");
    }
    const char* c = at;
    while (c > p->buffer_begin_ && (c[-1] == ' ' || c[-1] == '\t')) --c;
    // Only whitespace before it in this piece: what the previous pieces ended with decides.
    const bool folded = c > p->buffer_begin_ ? c[-1] == '\n' : p->after_line_break_;
    if (folded) return p->fail(malformed, "obsolete line folding in a header value");
    p->value_open_ = true;
  }
  // Remember whether this piece reached the end of the buffer (nullptr) or stopped inside it.
  p->last_value_end_ = (at + length == p->buffer_end_) ? nullptr : at + length;
  p->header_bytes_ += static_cast<uint32_t>(length);
  if (p->header_bytes_ > p->limits_.max_header_bytes) {
    return p->fail(p->type_ == Type::kRequest ? 431 : 502, "request header fields too large");
  }
  p->headers_.appendValue(at, length);
  return 0;
}

int Http1Parser::onHeaderValueComplete(llhttp_t* parser) {
  Http1Parser* p = self(parser);
  p->headers_.finishValue();
  p->value_open_ = false;
  p->value_line_ended_ = false;
  p->last_value_end_ = nullptr;
  return 0;
}

bool Http1Parser::validateHead() {
  const bool request = type_ == Type::kRequest;
  const int malformed = request ? 400 : 502;
  // llhttp also parses RTSP/ and ICE/ messages; only HTTP/1.0 and HTTP/1.1 may pass (a proxy
  // that forwarded "HTTP/2.0" or "HTTP/0.9" as HTTP/1.1 would change what the sender meant).
  if (!http_protocol_) {
    fail(malformed, request ? "not an HTTP request line" : "not an HTTP status line");
    return false;
  }
  if (versionMajor() != 1 || versionMinor() > 1) {
    fail(request ? 505 : 502, "HTTP version not supported");
    return false;
  }
  if (hasEmptyFieldName(headers_)) {
    fail(malformed, "empty header field name");
    return false;
  }
  const TransferCodings codings = readTransferCodings(headers_);
  if (codings.empty_member) {
    fail(malformed, "empty Transfer-Encoding");
    return false;
  }
  if (codings.chunked_count > 1) {
    // RFC 9112 §6.1: chunked is never applied twice; re-framing such a body would guess.
    fail(malformed, "chunked applied more than once");
    return false;
  }
  if (connectionListsClose(headers_)) close_after_ = true;
  if (!request) {
    // RFC 9110 §15: a status code is three digits, 100 to 599.
    if (statusCode() < 100 || statusCode() > 599) {
      fail(502, "status code outside 100-599");
      return false;
    }
    return true;
  }
  // llhttp only rejects a request whose last transfer coding is not chunked after the head
  // callback; catch it before the request is routed anywhere.
  if ((parser_.flags & F_TRANSFER_ENCODING) != 0 && (parser_.flags & F_CHUNKED) == 0) {
    fail(400, "Transfer-Encoding without chunked as the final coding");
    return false;
  }
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing; the body is
  // read as chunked (the only safe reading) but the connection ends after it.
  if (codings.present && !isHttp11OrLater()) close_after_ = true;
  // RFC 9110 §9.3.6: a CONNECT request has no content, and what follows its head belongs to the
  // tunnel (llhttp stops there). A CONNECT that announces content anyway is framed two ways at
  // once: a recipient that reads the announced body and one that tunnels see different next
  // messages, the same desync as Content-Length with Transfer-Encoding. Refuse it, as strict
  // proxies do; "Content-Length: 0" announces no content and agrees with both readings.
  if (method() == HTTP_CONNECT && (codings.present || content_length_ > 0)) {
    fail(400, "CONNECT request with content");
    return false;
  }
  if (url() == "*" && method() != HTTP_OPTIONS) {
    fail(400, "asterisk-form is for OPTIONS only");  // RFC 9112 §3.2.4
    return false;
  }
  const size_t hosts = headers_.countOf("host");
  if (hosts > 1) {
    fail(400, "more than one Host header");
    return false;
  }
  if (hosts == 0 && isHttp11OrLater()) {
    fail(400, "HTTP/1.1 request without a Host header");
    return false;
  }
  if (hosts == 1 && !isValidHostValue(*headers_.find("host"))) {
    fail(400, "invalid Host header");
    return false;
  }
  // An absolute-form target's authority stands in for Host (RFC 9112 §3.2.2): it is what the
  // request is routed on and the Host the backend gets, so it must be a host as Host must. An
  // "http" URI with an empty host is invalid too (RFC 9110 §4.2.1).
  if (const auto absolute = splitAbsoluteForm(url());
      absolute && (absolute->authority.empty() || !isValidHostValue(absolute->authority))) {
    fail(400, "invalid host in the request target");
    return false;
  }
  return true;
}

int Http1Parser::onHeadersComplete(llhttp_t* parser) {
  Http1Parser* p = self(parser);
  p->head_complete_ = true;
  p->content_length_ = parser->content_length;
  if (!p->validateHead()) return HPE_USER;
  // Known before the callback, which decides the framing of what it forwards from it.
  p->until_eof_ = p->type_ == Type::kResponse && llhttp_message_needs_eof(parser) != 0;
  ParserCallbacks::HeadAction action = p->callbacks_->onHeadComplete();
  // RFC 9112 §6.3: 1xx, 204 and 304 responses end at the empty line whatever their headers say
  // (a 304 may carry the Content-Length of the representation, RFC 9110 §8.6). Bytes after them
  // belong to no response: the owner must not reuse the connection.
  const int status = parser->status_code;
  if (p->type_ == Type::kResponse && (status < 200 || status == 204 || status == 304)) {
    action = ParserCallbacks::kNoBody;
  }
  if (action == ParserCallbacks::kNoBody) {
    p->until_eof_ = false;
    return 1;
  }
  return 0;
}

int Http1Parser::onBody(llhttp_t* parser, const char* at, size_t length) {
  Http1Parser* p = self(parser);
  if ((parser->flags & F_CHUNKED) != 0 && p->chunk_remaining_ > 0) {
    p->chunk_remaining_ -= std::min<uint64_t>(length, p->chunk_remaining_);
    if (p->chunk_remaining_ == 0) {
      p->chunk_crlf_pending_ = 2;
      if (!p->checkChunkDataEnd(at + length)) {
        return p->fail(p->type_ == Type::kRequest ? 400 : 502, "chunk data not followed by CRLF");
      }
    }
  }
  p->callbacks_->onBody(at, length);
  return 0;
}

int Http1Parser::onChunkHeader(llhttp_t* parser) {
  Http1Parser* p = self(parser);
  p->chunk_remaining_ = parser->content_length;  // this chunk's size
  p->chunk_crlf_pending_ = 0;
  return 0;
}

bool Http1Parser::checkChunkDataEnd(const char* at) {
  for (const char* c = at; chunk_crlf_pending_ > 0 && c < buffer_end_; ++c) {
    if (*c != (chunk_crlf_pending_ == 2 ? '\r' : '\n')) return false;
    --chunk_crlf_pending_;
  }
  return true;
}

int Http1Parser::onMessageCompleteCb(llhttp_t* parser) {
  Http1Parser* p = self(parser);
  p->in_message_ = false;
  p->callbacks_->onMessageComplete();
  return HPE_PAUSED;
}

}  // namespace sy::http
