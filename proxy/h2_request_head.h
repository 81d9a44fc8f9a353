#pragma once

#include <string>
#include <string_view>

namespace sy::proxy {

// Turns one HTTP/2 request's header list into the HTTP/1.1 request head the exchange reads
// (proxy/proxy_session.h parses it with an ordinary Http1Parser): `:method :path HTTP/1.1`,
// Host from :authority, the regular fields as they came, the cookie crumbs joined again
// (RFC 9113 §8.2.3), and Transfer-Encoding: chunked when a body of unknown length follows.
//
// nghttp2 has already refused what RFC 9113 §8.2 and §8.3 forbid (uppercase names,
// connection-specific fields, a TE other than "trailers", missing or repeated pseudo-header
// fields, pseudo-header fields after regular ones); what is left for here is to drop what
// HTTP/1.1 must not see twice or at all.
class H2RequestHead {
 public:
  // One field of the request's HEADERS (and CONTINUATION) frames, as nghttp2 hands it over.
  void add(std::string_view name, std::string_view value);

  // The head, ending in the empty line. `body_follows`: the request did not end with its
  // HEADERS frame. Without a content-length such a body is sent on chunked.
  std::string build(bool body_follows) const;

  std::string_view method() const { return method_; }
  bool hasContentLength() const { return has_content_length_; }

 private:
  std::string method_;
  std::string path_;
  std::string authority_;
  std::string host_;    // a host field, used when :authority is absent
  std::string fields_;  // "name: value\r\n" lines, in order
  std::string cookie_;  // the crumbs, joined with "; "
  bool has_content_length_ = false;
};

}  // namespace sy::proxy
