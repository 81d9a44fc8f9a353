// Http1Parser for a request that arrives as decoded fields (HTTP/2): the head goes straight
// into the parser's HeaderBlock and llhttp_t state, and validateHead() judges it as it judges a
// text head. See the header for what the caller has checked already.

#include <algorithm>
#include <cstdint>
#include <string>

#include "http/http1_parser.h"
#include "http/method_rules.h"
#include "http/strict_decimal.h"

namespace sy::http {
namespace {

// llhttp's strict mode refuses bytes above 0x7f in a request-target (RFC 3986 allows only
// ASCII); nghttp2 lets them through in :path, refusing only controls, SP and DEL, as llhttp
// does too.
bool fieldsTargetHasNonAscii(std::string_view target) {
  return std::any_of(target.begin(), target.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x7f; });
}

}  // namespace

void Http1Parser::beginFields() {
  onMessageBegin(&parser_);
  counting_bytes_ = false;  // messageBytes() is counted as the HTTP/1.1 form (finishFields)
  parser_.method = HTTP_GET;
  parser_.http_major = 1;
  parser_.http_minor = 1;
  parser_.flags = 0;
  parser_.upgrade = 0;
  http_protocol_ = true;
  fields_cookie_.clear();
  fields_body_remaining_ = 0;
  fields_method_seen_ = false;
  fields_host_seen_ = false;
  // onMessageBegin reserved room for a usual head (a stream's parser starts empty).
}

void Http1Parser::appendField(std::string_view name, std::string_view value) {
  // As onHeaderField/onHeaderValue count a text head: names and values, and the field count.
  header_bytes_ += static_cast<uint32_t>(name.size() + value.size());
  if (header_bytes_ > limits_.max_header_bytes) {
    fail(431, "request header fields too large");
    return;
  }
  headers_.appendName(name.data(), name.size());
  if (headers_.size() > limits_.max_header_count) {
    fail(431, "too many header fields");
    return;
  }
  headers_.appendValue(value.data(), value.size());
  headers_.finishValue();
}

void Http1Parser::loadMethod(std::string_view method) {
  fields_method_seen_ = true;
  // The text path's rules (feedRequestMethod): a bounded length, a method llhttp knows, or an
  // extension method shown as POST.
  if (method.size() >= kMaxMethodBytes) {
    fail(400, "request method too long");
    return;
  }
  if (const int known = llhttpMethodNamed(method); known >= 0) {
    parser_.method = static_cast<uint8_t>(known);
    return;
  }
  if (method.empty() || !std::all_of(method.begin(), method.end(), isMethodChar)) {
    fail(400, "Invalid method encountered");
    return;
  }
  parser_.method = HTTP_POST;
  extension_method_offset_ = headers_.appendExtra(method.data(), method.size());
  extension_method_length_ = static_cast<uint8_t>(method.size());
}

void Http1Parser::loadTarget(std::string_view target) {
  if (target.size() > limits_.max_url_bytes) {
    fail(414, "request target too long");
    return;
  }
  if (fieldsTargetHasNonAscii(target)) {
    fail(400, "Invalid characters in url");
    return;
  }
  url_offset_ = headers_.appendExtra(target.data(), target.size());
  url_length_ = static_cast<uint32_t>(target.size());
}

void Http1Parser::loadHost(std::string_view host) {
  if (fields_host_seen_) return;  // the first one wins: :authority, or else host
  fields_host_seen_ = true;
  appendField("Host", host);
}

void Http1Parser::addField(std::string_view name, std::string_view value) {
  if (error_status_ != 0) return;  // refused already: what follows changes nothing
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") {
      loadMethod(value);
    } else if (name == ":path") {
      loadTarget(value);
    } else if (name == ":authority") {
      // Pseudo-header fields come first (RFC 9113 §8.3): Host leads the fields, as it would
      // in the request the client meant.
      loadHost(value);
    }
    // :scheme says http or https, which the listener knows already; :protocol (extended
    // CONNECT) is not enabled, so nghttp2 refuses it.
    return;
  }
  if (name == "host") {
    // Host and :authority together must agree (RFC 9113 §8.3.1); :authority wins.
    loadHost(value);
    return;
  }
  if (name == "cookie") {
    if (!fields_cookie_.empty()) fields_cookie_.append("; ");
    fields_cookie_.append(value);
    return;
  }
  // "te: trailers" is the only te HTTP/2 allows; it is hop-by-hop, and the backend connection
  // has its own.
  if (name == "te") return;
  if (name == "content-length") {
    if (hasContentLength()) {
      fail(400, "Duplicate Content-Length");
      return;
    }
    // content-length = 1*DIGIT; llhttp refuses anything else, and an overflow.
    if (!parseStrictDecimal(value, &content_length_)) {
      fail(400, "Invalid character in Content-Length");
      return;
    }
    parser_.flags |= F_CONTENT_LENGTH;
  }
  appendField(name, value);
}

Http1Parser::Result Http1Parser::finishFields(bool body_follows) {
  if (error_status_ == 0 && !fields_cookie_.empty()) {
    appendField("cookie", fields_cookie_);
    std::string().swap(fields_cookie_);
  }
  if (error_status_ == 0 && !fields_method_seen_) fail(400, "request without a method");
  // CONNECT has no :path; its target is the authority (the exchange refuses it with 405).
  if (error_status_ == 0 && url_length_ == 0) {
    const std::string authority(headers_.find("host").value_or(std::string_view()));
    loadTarget(authority);
  }
  if (error_status_ != 0) return Result::kError;
  // A body of unknown length reads as chunked: its end is the end of the stream. A CONNECT
  // stream's DATA would be a tunnel's, not a body: the request ends with its head (and is
  // answered 405).
  if (body_follows && !hasContentLength() && method() != HTTP_CONNECT) {
    parser_.flags |= F_CHUNKED;
  }
  // As HTTP/1.1 would count the head: "METHOD target HTTP/1.1\r\n", "name: value\r\n" lines
  // and the empty line.
  message_bytes_ = methodName().size() + url_length_ + 11 + 1 + header_bytes_ +
                   4 * static_cast<uint64_t>(headers_.size()) + 2;
  head_complete_ = true;
  if (!validateHead()) return Result::kError;
  fields_body_remaining_ = content_length_;
  callbacks_->onHeadComplete();
  if (!hasBody()) return completeFieldsMessage();
  return Result::kNeedMore;
}

Http1Parser::Result Http1Parser::addBody(const char* data, size_t length) {
  // Before the head, after a refusal or after the end, nothing reads body bytes.
  if (!in_message_ || !head_complete_ || error_status_ != 0) return Result::kNeedMore;
  if (hasContentLength()) {
    length = static_cast<size_t>(std::min<uint64_t>(length, fields_body_remaining_));
    fields_body_remaining_ -= length;
  }
  message_bytes_ += length;
  if (length > 0) callbacks_->onBody(data, length);
  if (hasContentLength() && fields_body_remaining_ == 0) return completeFieldsMessage();
  return Result::kNeedMore;
}

Http1Parser::Result Http1Parser::finishBody() {
  if (!in_message_ || !head_complete_ || error_status_ != 0) return Result::kNeedMore;
  return completeFieldsMessage();
}

Http1Parser::Result Http1Parser::completeFieldsMessage() {
  in_message_ = false;
  callbacks_->onMessageComplete();
  return Result::kPaused;
}

}  // namespace sy::http
