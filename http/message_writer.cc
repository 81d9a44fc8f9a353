#include "http/message_writer.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "core/strings.h"

namespace sy::http {
namespace {

using core::equalsIgnoreCase;

// Whether the Connection header of `headers` names `field` (so that it is hop-by-hop too).
// Content-Length and Host are end-to-end whatever Connection says (RFC 9110 §7.6.1: a sender
// must not list a field meant for every recipient): the body is forwarded as received, so
// dropping Content-Length would leave it unframed for the next hop, which would read it as the
// next message (request smuggling); dropping Host would send the backend another host than the
// one the request was routed on.
bool namedByConnection(const HeaderBlock& headers, std::string_view field) {
  if (equalsIgnoreCase(field, "content-length") || equalsIgnoreCase(field, "host")) return false;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (equalsIgnoreCase(headers.name(i), "connection") &&
        headerHasToken(headers.value(i), field)) {
      return true;
    }
  }
  return false;
}

bool hasConnectionHeader(const HeaderBlock& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    if (equalsIgnoreCase(headers.name(i), "connection")) return true;
  }
  return false;
}

void appendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).append("\r\n");
}

// "app.test:8080" + ".shadow" -> "app.test.shadow:8080": a suffix after the port would make the
// Host invalid. The request's Host was checked as `uri-host [":" port]`, so a name's colon is the
// port's.
void appendHostLine(std::string* out, std::string_view name, std::string_view host,
                    std::string_view suffix) {
  // An IP literal takes no suffix: `[::1]-shadow` is not a host (RFC 3986 §3.2.2), and the
  // shadow, like this proxy's own parser, would refuse the copy.
  if (!host.empty() && host.front() == '[') suffix = {};
  const size_t name_end = suffix.empty() ? host.size() : std::min(host.find(':'), host.size());
  out->append(name).append(": ").append(host.substr(0, name_end)).append(suffix);
  out->append(host.substr(name_end)).append("\r\n");
}

}  // namespace

bool isHopByHopHeader(std::string_view name) {
  switch (name.size()) {
    case 2:
      return equalsIgnoreCase(name, "te");
    case 7:
      return equalsIgnoreCase(name, "trailer") || equalsIgnoreCase(name, "upgrade");
    case 10:
      return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive");
    case 17:
      return equalsIgnoreCase(name, "transfer-encoding");
    default:
      break;
  }
  // The first letter before the call into abseil (most names do not start with a p).
  return name.size() >= 6 && (name[0] == 'p' || name[0] == 'P') &&
         core::startsWithIgnoreCase(name, "proxy-");
}

void buildUpstreamRequestHead(const Http1Parser& request, const UpstreamRequestOptions& options,
                              std::string* out) {
  const HeaderBlock& headers = request.headers();
  out->clear();
  out->reserve(headers.byteSize() + request.url().size() + 4 * headers.size() + 160);
  const std::string_view target = options.target.empty() ? request.url() : options.target;
  out->append(request.methodName()).append(" ").append(target).append(" HTTP/1.1\r\n");
  const bool check_connection_names = hasConnectionHeader(headers);
  std::string forwarded_for;
  bool has_host = false;
  for (size_t i = 0; i < headers.size(); ++i) {
    const std::string_view name = headers.name(i);
    const std::string_view value = headers.value(i);
    if (isHopByHopHeader(name)) continue;
    if (equalsIgnoreCase(name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for.append(", ");
      forwarded_for.append(value);
      continue;
    }
    if (equalsIgnoreCase(name, "x-forwarded-proto") || equalsIgnoreCase(name, "x-real-ip")) {
      continue;
    }
    if (options.drop_expect && equalsIgnoreCase(name, "expect")) continue;
    if (!options.drop_header.empty() && equalsIgnoreCase(name, options.drop_header)) continue;
    if (!options.replace_header.empty() && equalsIgnoreCase(name, options.replace_header)) {
      continue;
    }
    if (check_connection_names && namedByConnection(headers, name)) continue;
    if (options.edits != nullptr && options.edits->drops(name)) continue;
    if (!has_host && equalsIgnoreCase(name, "host")) {
      has_host = true;
      const std::string_view host = options.host.empty() ? value : options.host;
      appendHostLine(out, name, host, options.host_suffix);
      continue;
    }
    appendHeader(out, name, value);
  }
  const HeaderEdits* edits = options.edits;
  if (edits != nullptr && edits->drops("host")) has_host = true;  // the route sets its own
  if (!has_host) {
    const std::string_view host = !options.host.empty() ? options.host : options.host_fallback;
    if (!host.empty()) appendHostLine(out, "Host", host, options.host_suffix);
  }
  if (edits == nullptr || !edits->drops("x-forwarded-for")) {
    if (!forwarded_for.empty()) forwarded_for.append(", ");
    forwarded_for.append(options.client_ip);
    appendHeader(out, "X-Forwarded-For", forwarded_for);
  }
  if (edits == nullptr || !edits->drops("x-forwarded-proto")) {
    appendHeader(out, "X-Forwarded-Proto", options.proto);
  }
  if (edits == nullptr || !edits->drops("x-real-ip")) {
    appendHeader(out, "X-Real-IP", options.client_ip);
  }
  if (request.chunked()) out->append("Transfer-Encoding: chunked\r\n");
  if (options.tunnel) {
    if (auto upgrade = headers.find("upgrade")) appendHeader(out, "Upgrade", *upgrade);
    out->append("Connection: upgrade\r\n");
  }
  if (edits != nullptr) edits->appendLines(*options.values, out);
  out->append(options.extra_headers);
  out->append("\r\n");
}

namespace {

// The backend's fields a client gets, as both response forms write them: without the hop-by-hop
// ones, those its Connection field names, and those the route's edits drop (`edits` null: none).
// A template so that the HTTP/1.1 head builder keeps its loop inlined (no call per field).
template <typename Field>
void forEachForwardedResponseField(const HeaderBlock& headers, const HeaderEdits* edits,
                                   Field&& field) {
  const bool check_connection_names = hasConnectionHeader(headers);
  for (size_t i = 0; i < headers.size(); ++i) {
    const std::string_view name = headers.name(i);
    if (isHopByHopHeader(name)) continue;
    if (check_connection_names && namedByConnection(headers, name)) continue;
    if (edits != nullptr && edits->drops(name)) continue;
    field(name, headers.value(i));
  }
}

}  // namespace

void buildDownstreamResponseHead(const Http1Parser& response,
                                 const DownstreamResponseOptions& options, std::string* out) {
  const HeaderBlock& headers = response.headers();
  out->clear();
  out->reserve(headers.byteSize() + 4 * headers.size() + 96);
  // to_chars, not snprintf: formatting through stdio cost ~650 instructions per response
  // (callgrind), 3-4 % of a small proxied request.
  char status[16];
  const std::to_chars_result status_end =
      std::to_chars(status, status + sizeof status, response.statusCode());
  out->append("HTTP/1.1 ").append(status, status_end.ptr).append(" ");
  out->append(response.reason()).append("\r\n");
  forEachForwardedResponseField(
      headers, options.interim ? nullptr : options.edits,
      [out](std::string_view name, std::string_view value) { appendHeader(out, name, value); });
  if (options.interim) {
    // RFC 9110 §15.2: an interim response ends at its empty line and says nothing about the
    // connection; the final response that follows carries the framing.
    out->append(options.extra_headers);
    out->append("\r\n");
    return;
  }
  if (options.chunked_body) out->append("Transfer-Encoding: chunked\r\n");
  if (options.tunnel) {
    if (auto upgrade = headers.find("upgrade")) appendHeader(out, "Upgrade", *upgrade);
    out->append("Connection: upgrade\r\n");
  } else if (!options.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (!options.client_http11) {
    out->append("Connection: keep-alive\r\n");
  }
  if (options.edits != nullptr) options.edits->appendLines(*options.values, out);
  out->append(options.extra_headers);
  out->append("\r\n");
}

void forEachDownstreamResponseField(
    const Http1Parser& response, const DownstreamResponseOptions& options, std::string* scratch,
    absl::FunctionRef<void(std::string_view name, std::string_view value)> field) {
  // Interim responses get no edits (as the HTTP/1.1 head): the final response carries them.
  const HeaderEdits* edits = options.interim ? nullptr : options.edits;
  forEachForwardedResponseField(response.headers(), edits, field);
  // The same lines as the HTTP/1.1 head's, split again: they are few, and only routes with
  // response_headers, a pool header or a request id have any.
  scratch->clear();
  if (edits != nullptr) edits->appendLines(*options.values, scratch);
  scratch->append(options.extra_headers);
  std::string_view rest = *scratch;
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    const std::string_view name = line.substr(0, colon);
    if (isHopByHopHeader(name)) continue;  // framing is the client protocol's own
    field(name, value);
  }
}

size_t formatChunkHeader(size_t size, char* out) {
  char* end = std::to_chars(out, out + 16, size, 16).ptr;  // at most 16 hex digits
  *end++ = '\r';
  *end++ = '\n';
  return static_cast<size_t>(end - out);
}

}  // namespace sy::http
