#pragma once

// A route's header operations on one direction of the exchange (request_headers or
// response_headers): names to drop from the message as received, then lines to append. "set"
// is a drop plus a line, "add" a line, "remove" a drop. Built once per configuration; the
// message writers consult it while they copy a head.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "http/value_template.h"

namespace sy::http {

struct HeaderLine {
  std::string name;  // as written in the configuration
  ValueTemplate value;
};

struct HeaderEdits {
  std::vector<std::string> drop;  // lower case; the set and remove names
  std::vector<HeaderLine> lines;  // set, then add lines, in configuration order

  bool empty() const { return drop.empty() && lines.empty(); }
  // Whether the received field `name` is dropped (case-insensitive).
  bool drops(std::string_view name) const;
  // Appends "Name: value\r\n" per line; a line whose value expands to "" is left out (as
  // nginx's proxy_set_header with an empty value).
  void appendLines(const TemplateValues& values, std::string* out) const;
};

enum class HeaderDirection { kRequest, kResponse };
enum class HeaderOp { kSet, kAdd, kRemove };

// Whether a configuration may `op` the field `name` in `direction`: framing and hop-by-hop
// fields belong to the proxy (Connection, Keep-Alive, Transfer-Encoding, Content-Length,
// Upgrade, TE, Trailer, Proxy-*), Host of a response makes no sense, and a request's Host may
// only be set (a request without one, or with two, would be refused or misrouted upstream).
// The error says why.
absl::Status checkEditableHeader(std::string_view name, HeaderDirection direction, HeaderOp op);

}  // namespace sy::http
