#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "http/header_block.h"
#include "http/header_edits.h"
#include "http/http1_parser.h"
#include "http/value_template.h"

namespace sy::http {

// True for headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1), whatever
// the Connection header says: Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade
// and every Proxy-* header.
bool isHopByHopHeader(std::string_view name);

struct UpstreamRequestOptions {
  std::string_view client_ip;       // appended to X-Forwarded-For, set as X-Real-IP
  std::string_view proto = "http";  // X-Forwarded-Proto
  std::string_view host_fallback;   // Host to send when the client sent none (HTTP/1.0)
  bool tunnel = false;              // forward Upgrade + Connection: upgrade
  bool drop_expect = false;         // we answered "100 Continue" ourselves
  std::string_view host_suffix;     // appended to the Host name, before any port (shadow traffic)
  std::string_view drop_header;     // a client field of this name is not forwarded (the mirror
                                    // marker, which only the proxy may set)
  std::string_view replace_header;  // a client field of this name is not forwarded (the proxy
                                    // sends its own in extra_headers: a request id)
  std::string_view target;          // request target to send; empty: the one received
  std::string_view host;            // replaces the Host value; empty: the one received
  std::string_view extra_headers;   // complete "Name: value\r\n" lines appended as they are
  // A route's request_headers (null: none): its dropped names are not forwarded, including the
  // X-Forwarded-For, X-Forwarded-Proto and X-Real-IP the proxy adds, and a dropped Host is not
  // replaced; its lines are appended, expanded with `values` (then set too).
  const HeaderEdits* edits = nullptr;
  const TemplateValues* values = nullptr;
};

// Writes the request head sent to a backend: always HTTP/1.1 with keep-alive, hop-by-hop
// headers removed (and the ones the client's Connection header names), X-Forwarded-For
// appended, X-Forwarded-Proto and X-Real-IP set, Host kept, chunked framing re-declared.
void buildUpstreamRequestHead(const Http1Parser& request, const UpstreamRequestOptions& options,
                              std::string* out);

struct DownstreamResponseOptions {
  bool keep_alive = true;          // the client connection stays open after this response
  bool client_http11 = true;       // the client spoke HTTP/1.1 (else 1.0: no chunking)
  bool chunked_body = false;       // we send the body with chunked framing
  bool tunnel = false;             // 101 Switching Protocols: keep Upgrade
  bool interim = false;            // a 1xx other than 101: no framing or connection headers
  std::string_view extra_headers;  // complete "Name: value\r\n" lines appended as they are
  // A route's response_headers (null: none), as UpstreamRequestOptions::edits. Not applied to
  // interim responses.
  const HeaderEdits* edits = nullptr;
  const TemplateValues* values = nullptr;
};

// Writes the response head sent to the client from the backend's response.
void buildDownstreamResponseHead(const Http1Parser& response,
                                 const DownstreamResponseOptions& options, std::string* out);

// The fields of the head buildDownstreamResponseHead would write, for a client whose protocol
// frames the message and manages the connection itself (HTTP/2): the backend's fields without
// the hop-by-hop ones (and those its Connection field names) or the ones options.edits drops,
// then the edits' lines and options.extra_headers (hop-by-hop names among them left out too).
// options.interim leaves the edits out, as buildDownstreamResponseHead does. No status line,
// Connection or Transfer-Encoding; options.keep_alive, client_http11, chunked_body and tunnel
// are ignored. `field` gets each (name, value) in order, names in their original case; the views
// point into `response` and into `*scratch`, which holds the expanded lines (keep it until the
// views are used).
void forEachDownstreamResponseField(
    const Http1Parser& response, const DownstreamResponseOptions& options, std::string* scratch,
    absl::FunctionRef<void(std::string_view name, std::string_view value)> field);

// Chunked framing: "<hex size>\r\n" into `out` (at least 20 bytes); returns its length.
size_t formatChunkHeader(size_t size, char* out);
inline constexpr std::string_view kChunkTrailer = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace sy::http
