#include "proxy/h2_request_head.h"

namespace sy::proxy {

void H2RequestHead::add(std::string_view name, std::string_view value) {
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") {
      method_.assign(value);
    } else if (name == ":path") {
      path_.assign(value);
    } else if (name == ":authority") {
      authority_.assign(value);
    }
    // :scheme says http or https, which the listener knows already; :protocol (extended
    // CONNECT) is not enabled, so nghttp2 refuses it.
    return;
  }
  if (name == "host") {
    // Host and :authority together must agree (RFC 9113 §8.3.1); :authority wins here, and a
    // second Host line would make the HTTP/1.1 parser answer 400.
    if (host_.empty()) host_.assign(value);
    return;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return;
  }
  // "te: trailers" is the only TE HTTP/2 allows; it is hop-by-hop and the backend connection
  // has its own.
  if (name == "te") return;
  if (name == "content-length") has_content_length_ = true;
  fields_.append(name);
  fields_.append(": ");
  fields_.append(value);
  fields_.append("\r\n");
}

std::string H2RequestHead::build(bool body_follows) const {
  // CONNECT has no :path; its target is the authority (the exchange refuses it with 405).
  const std::string_view target = path_.empty() ? std::string_view(authority_) : path_;
  const std::string_view host = authority_.empty() ? std::string_view(host_) : authority_;
  std::string head;
  head.reserve(method_.size() + target.size() + host.size() + fields_.size() + cookie_.size() + 64);
  head.append(method_).append(" ").append(target).append(" HTTP/1.1\r\n");
  // Without :authority and Host the HTTP/1.1 parser answers 400, as for an HTTP/1.1 request.
  if (!host.empty()) head.append("Host: ").append(host).append("\r\n");
  head.append(fields_);
  if (!cookie_.empty()) head.append("cookie: ").append(cookie_).append("\r\n");
  if (body_follows && !has_content_length_) head.append("Transfer-Encoding: chunked\r\n");
  head.append("\r\n");
  return head;
}

}  // namespace sy::proxy
