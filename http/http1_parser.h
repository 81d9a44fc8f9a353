#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/header_block.h"

namespace sy::http {

struct ParserLimits {
  uint32_t max_url_bytes = 8 * 1024;      // longer request targets: 414
  uint32_t max_header_bytes = 32 * 1024;  // names + values: 431
  uint32_t max_header_count = 100;        // more fields: 431
};

// What the owner of a parser hears about. All calls happen inside Http1Parser::execute().
class ParserCallbacks {
 public:
  // The head is complete and available through the parser's accessors. Return kProceed, or
  // kNoBody for a response that has no body whatever its headers say (the answer to HEAD).
  enum HeadAction { kProceed = 0, kNoBody = 1 };
  virtual HeadAction onHeadComplete() = 0;
  // Decoded body bytes (chunk framing already removed). Valid only during the call.
  virtual void onBody(const char* data, size_t length) = 0;
  // The message ended. The parser pauses right after it: execute() returns kPaused.
  virtual void onMessageComplete() = 0;

 protected:
  ~ParserCallbacks() = default;
};

// HTTP/1.x message parser over llhttp, for requests (downstream) or responses (upstream).
//
// On top of llhttp it enforces size limits and rejects what llhttp accepts but a proxy must not
// forward: obs-fold continuation lines, whitespace in field names, chunk data not followed by
// CRLF (llhttp outside its strict mode skips any two bytes there), a CR not followed by LF
// before a start line (llhttp skips it), and (for requests) a missing or repeated Host in
// HTTP/1.1 and a CONNECT that announces content. llhttp itself rejects Content-Length together
// with Transfer-Encoding, duplicate Content-Length, unknown transfer codings, bare CR and
// malformed chunk sizes.
class Http1Parser {
 public:
  // Longer request methods are refused (400): the longest registered one has 17 characters.
  static constexpr size_t kMaxMethodBytes = 24;
  enum class Type { kRequest, kResponse };
  enum class Result {
    kNeedMore,  // every byte was consumed; the message is not finished
    kPaused,    // a message ended; `consumed` bytes were used, call resume() to go on
    kError,     // malformed; see errorStatus()/errorReason()
  };

  Http1Parser(Type type, ParserCallbacks* callbacks, const ParserLimits& limits = {});
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  Result execute(const char* data, size_t length, size_t* consumed);
  // After kPaused: continue with the next message.
  void resume();
  // The peer closed: completes a response delimited by the end of the connection.
  Result finish();
  void setLimits(const ParserLimits& limits) { limits_ = limits; }
  // Forgets the current head and frees its memory (the connection is idle).
  void releaseHead() { headers_.release(); }

  // Bytes of the current (or just completed) message as received, framing included; complete
  // once execute() has returned.
  uint64_t messageBytes() const { return message_bytes_; }

  // True once the first byte of a message was seen and until it completes (a request method
  // still held back from llhttp counts).
  bool inMessage() const { return in_message_ || method_hold_length_ > 0; }
  bool headComplete() const { return head_complete_; }

  // Head accessors, valid from onHeadComplete() until the next message starts.
  // An extension method (RFC 9110 §9.1: any token, e.g. QUERY) reads as HTTP_POST here: neither
  // safe nor idempotent, no special framing. methodName() gives its real name.
  llhttp_method_t method() const { return static_cast<llhttp_method_t>(parser_.method); }
  std::string_view methodName() const;
  std::string_view url() const { return headers_.extra(url_offset_, url_length_); }
  int statusCode() const { return parser_.status_code; }
  std::string_view reason() const { return headers_.extra(reason_offset_, reason_length_); }
  int versionMajor() const { return parser_.http_major; }
  int versionMinor() const { return parser_.http_minor; }
  bool isHttp11OrLater() const { return versionMajor() > 1 || versionMinor() >= 1; }
  const HeaderBlock& headers() const { return headers_; }
  // False also when a Connection field lists "close" with whitespace llhttp does not trim, or
  // for an HTTP/1.0 request framed with Transfer-Encoding (RFC 9112 §6.1).
  bool keepAlive() const { return !close_after_ && llhttp_should_keep_alive(&parser_) != 0; }
  bool chunked() const { return (parser_.flags & F_CHUNKED) != 0; }
  bool hasContentLength() const { return (parser_.flags & F_CONTENT_LENGTH) != 0; }
  uint64_t contentLength() const { return content_length_; }
  // The body runs until the connection closes (responses without length or chunking).
  bool bodyUntilEof() const { return until_eof_; }
  bool upgrade() const { return parser_.upgrade != 0; }
  bool hasBody() const {
    return chunked() || until_eof_ || (hasContentLength() && content_length_ > 0);
  }

  // After kError: the status to answer with (400, 414, 431; 502 for responses) and why.
  int errorStatus() const { return error_status_; }
  std::string_view errorReason() const { return error_reason_; }

  // ---- A request that arrives as decoded fields (HTTP/2) rather than text ----
  // The head accessors, callbacks, limits and head rules (validateHead) are those of the text
  // path; the HTTP/1.1 head is never written out. A parser is used one way or the other, not
  // both. The caller must have refused what RFC 9113 §8.2 and §8.3 forbid (nghttp2 does: names
  // that are not lowercase tokens, field values with controls or edge whitespace, :path and
  // :authority with controls or spaces, :method not a token, connection-specific fields, a te
  // other than "trailers", a malformed or repeated content-length); what llhttp's strict mode
  // refuses beyond that is checked here.
  //
  // Starts a request (kRequest parsers only).
  void beginFields();
  // One field of the header list, in order. :method, :path and :authority (as Host) make the
  // request line; a host field stands in for a missing :authority; cookie crumbs are joined
  // with "; " into one field (RFC 9113 §8.2.3); te is dropped (hop-by-hop). Past a limit the
  // request is refused when its list ends (414, 431, or 400 for a method).
  void addField(std::string_view name, std::string_view value);
  // The list ended; `body_follows`: the request did not end with its header list. A body
  // without content-length reads as chunked (its end is the end of the stream). Calls
  // onHeadComplete (and onMessageComplete when no body follows). kError: refused, see
  // errorStatus(); kPaused: the request is complete; kNeedMore: its body follows.
  Result finishFields(bool body_follows);
  // Body bytes (no framing): onBody, and onMessageComplete once content-length bytes came.
  Result addBody(const char* data, size_t length);
  // The body ended (END_STREAM): onMessageComplete if it has not run.
  Result finishBody();

 private:
  // What every head starts with when its block is empty (a stream's parser, an upstream parser
  // after releaseHead, which frees the head per exchange so that idle connections hold
  // nothing): a load tool's request (Host, user-agent, the target) and a small response
  // (status, 4-6 fields) fit, and a browser's request (~700 bytes, ~20 fields) grows from there
  // in three steps rather than six. Both blocks stay within glibc's fastbin sizes (chunks up to
  // 128 bytes), which is what keeps them cheap with many exchanges in flight: 256 bytes and 8
  // fields measured ~640 instructions per h2c stream worse (callgrind), as their frees went
  // through the unsorted bin.
  static constexpr size_t kHeadReserveBytes = 112;
  static constexpr size_t kHeadReserveFields = 6;

  static int onMessageBegin(llhttp_t* parser);
  static int onUrl(llhttp_t* parser, const char* at, size_t length);
  static int onVersion(llhttp_t* parser, const char* at, size_t length);
  static int onStatus(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderField(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderValue(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderValueComplete(llhttp_t* parser);
  static int onHeadersComplete(llhttp_t* parser);
  static int onBody(llhttp_t* parser, const char* at, size_t length);
  static int onChunkHeader(llhttp_t* parser);
  static int onMessageCompleteCb(llhttp_t* parser);
  static const llhttp_settings_t* settings();

  int fail(int status, const char* reason);
  // After llhttp refused input: its status and reason become the answer, unless a check of
  // ours (fail()) already gave one.
  void adoptLlhttpError(llhttp_errno_t err);
  // Runs llhttp over one piece of input (a read, or the method held back from earlier reads).
  llhttp_errno_t executePiece(const char* data, size_t length);
  // Between messages: shows llhttp the empty lines (CRLF or LF) at the start of `data` and
  // returns how many bytes they take; false in *ok on a CR not followed by LF (400 or 502).
  size_t feedEmptyLines(const char* data, size_t length, bool* ok);
  // At the start of a request: holds the method back until it is complete and shows llhttp one
  // it knows (llhttp 8.1.0 refuses methods outside its table). Returns how many bytes of `data`
  // it used (method and empty lines before it); false in *ok when llhttp refused them.
  size_t feedRequestMethod(const char* data, size_t length, bool* ok);
  void rememberLineTail(const char* data, size_t length);
  bool validateHead();
  // Fields path: one field into the head, within the header limits.
  void appendField(std::string_view name, std::string_view value);
  void loadMethod(std::string_view method);
  void loadTarget(std::string_view target);
  // :authority, or a host field: the first one becomes the head's Host field.
  void loadHost(std::string_view host);
  Result completeFieldsMessage();
  // Checks the bytes from `at` to the end of the current buffer against the CRLF still expected
  // after chunk data; false on a mismatch.
  bool checkChunkDataEnd(const char* at);

  llhttp_t parser_;
  ParserCallbacks* callbacks_;
  ParserLimits limits_;
  HeaderBlock headers_;
  uint64_t content_length_ = 0;
  uint64_t message_bytes_ = 0;
  bool counting_bytes_ = false;
  uint64_t chunk_remaining_ = 0;     // data bytes of the current chunk not delivered yet
  uint32_t chunk_crlf_pending_ = 0;  // bytes of the CRLF after chunk data not checked yet
  // Where the current execute() buffer ends, to tell a value split across reads from obs-fold.
  const char* buffer_begin_ = nullptr;
  const char* buffer_end_ = nullptr;
  const char* last_value_end_ = nullptr;
  uint32_t url_offset_ = 0;
  uint32_t url_length_ = 0;
  uint32_t reason_offset_ = 0;
  uint32_t reason_length_ = 0;
  uint32_t header_bytes_ = 0;
  int error_status_ = 0;
  const char* error_reason_ = "";
  bool value_open_ = false;
  bool value_line_ended_ = false;
  bool in_message_ = false;
  bool head_complete_ = false;
  bool until_eof_ = false;
  bool http_protocol_ = false;  // the start line said "HTTP/" (not RTSP/ or ICE/)
  bool version_seen_ = false;
  bool close_after_ = false;
  bool after_line_break_ = false;  // the last piece ended in LF and optional whitespace
  bool leading_cr_ = false;        // the last byte before a start line was a CR: LF must follow
  uint32_t extension_method_offset_ = 0;  // in headers_.extra(); length 0: a known method
  uint8_t extension_method_length_ = 0;
  uint8_t method_hold_length_ = 0;
  char method_hold_[kMaxMethodBytes] = {};  // a method split across reads, not yet shown to llhttp
  char line_tail_[8] = {};
  // Fields path only.
  std::string fields_cookie_;  // the crumbs so far, joined
  uint64_t fields_body_remaining_ = 0;
  bool fields_method_seen_ = false;
  bool fields_host_seen_ = false;
  size_t line_tail_length_ = 0;
  Type type_;
};

}  // namespace sy::http
