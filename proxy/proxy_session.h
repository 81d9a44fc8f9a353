#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "http/http1_parser.h"
#include "http/request_target.h"
#include "proxy/exchange_owner.h"
#include "proxy/request_id.h"
#include "routing/route_table.h"
#include "routing/traffic_split.h"
#include "upstream/upstream_connection.h"

namespace sy::proxy {

class MirrorExchange;
class Worker;
struct PinnedSnapshot;

// One request and its response, from a complete request head to the last response byte: it
// routes the request with the snapshot pinned at its start, splits it between pools, picks a
// backend, streams the body up and the response down with backpressure both ways, retries what
// may be retried, copies the request to a mirror, answers errors itself and records the
// exchange (route stats, access log).
//
// Lifetime: created by its connection (ExchangeOwner) when a request head is complete (or to
// answer a request refused before its head was), destroyed by it when the exchange ends; the
// destructor gives back what the exchange held (backend, upstream connection, mirror, pinned
// snapshot). Calls that end the exchange (respondLocally, the owner's exchangeFinished and
// closeConnection) destroy the object before they return. An idle keep-alive connection holds
// no session. Worker thread only.
//
// Split over two files: proxy_session.cc (the request: routing, body, local replies, record)
// and proxy_session_relay.cc (the backend: pick, retry, response relay, tunnel).
class ProxySession final : public upstream::UpstreamHandler {
 public:
  // `request` is the connection's parser: its head stays valid for the session's whole life.
  // `started_ns` is when the request's first byte arrived.
  ProxySession(Worker& worker, ExchangeOwner& owner, const http::Http1Parser& request,
               uint64_t started_ns);
  ~ProxySession();
  ProxySession(const ProxySession&) = delete;
  ProxySession& operator=(const ProxySession&) = delete;
  // One session per request: the memory is recycled per worker thread (core/thread_recycler.h).
  static void* operator new(size_t size);
  static void operator delete(void* block);

  // ---- From the connection ----
  // The head is complete: route and start forwarding, or decide a local answer. May end the
  // exchange.
  void start();
  void onRequestBody(const char* data, size_t length);
  void onRequestComplete();
  // Answers the request here and ends the exchange (or closes the connection when part of a
  // response already went out).
  void respondLocally(int status, std::string_view detail);
  // An answer decided while the head was read (404, 405, 400, 429), sent once the request was
  // read whole so that its size is known.
  bool hasPendingLocalReply() const { return local_status_ != 0; }
  void sendPendingLocalReply() { respondLocally(local_status_, local_detail_); }
  // The client can take more response bytes.
  void onClientWritable();
  // Tunnel bytes from the client, and its FIN; the latter returns true when the backend's side
  // ended too (the connection may close).
  void onClientTunnelData(const char* data, size_t length);
  bool onClientTunnelEof();
  // The connection closes with the exchange unfinished: record it with the status the client
  // saw, or 499 (nginx's "client closed the request") when it left before any response. `cut_by`
  // names the proxy's reason when it closed the connection itself ("shutdown_timeout"): such a
  // request that got no response is logged as 503, with the reason.
  void recordCutShort(std::string_view cut_by = {});

  void disableKeepAlive() { keep_alive_ = false; }
  bool keepAlive() const { return keep_alive_; }
  bool clientCloses() const { return client_closes_; }
  bool requestComplete() const { return request_complete_; }
  bool responseStarted() const { return response_started_; }

 private:
  // The client connection closes after this exchange: the worker drains, or a reload retired
  // the connection's listener.
  bool keepAliveEnds() const;
  // upstream::UpstreamHandler
  void onUpstreamConnected() override;
  void onUpstreamInformational(const http::Http1Parser& response) override;
  http::ParserCallbacks::HeadAction onUpstreamHead(const http::Http1Parser& response) override;
  void onUpstreamBody(const char* data, size_t length) override;
  void onUpstreamComplete() override;
  void onUpstreamTunnelData(const char* data, size_t length) override;
  void onUpstreamTunnelEof() override;
  void onUpstreamFailure(upstream::UpstreamFailure failure, int uv_status,
                         bool response_started) override;
  void onUpstreamWritable() override;

  // ---- proxy_session.cc ----
  // Brings the request path to normal form; false when the request was refused (400).
  bool normalizeTarget();
  // The client's request rate (proxy/client_limits.h): true when this request is refused with
  // 429 Too Many Requests.
  bool refuseOverRateLimit();
  // Decides a local answer; with a body still to come it is sent now and the connection
  // closes rather than read it all.
  void refuse(int status, std::string_view detail);
  // A redirect_to_https listener: 308 to the same host and target over HTTPS (400 without a
  // usable host).
  void redirectToHttps();
  // A route with redirect or respond: its answer, once the request was read.
  void answerFromRoute(const routing::LocalAnswer& answer);
  // The values of the route templates (headers, redirect Location) for this request.
  http::TemplateValues templateValues() const;
  // Request identity (request_id): the listener's settings, then the route's over them.
  void assignRequestId();
  // "X-Request-ID: <id>\r\n" when the request has an id, else empty.
  std::string requestIdLine() const;
  // The request id header's name in lower case (for lookups in a head).
  std::string_view requestIdHeaderLower() const;
  // max_body: true when the request was refused with 413 for its Content-Length.
  bool refuseOverMaxBody();
  void maybeMirror(const routing::SplitInput& split);
  void mirrorBody(const char* data, size_t length, uint64_t payload_bytes);
  void forwardRequestBody(const char* data, size_t length);
  void finish();
  void record();
  void countStatus(int status);

  // ---- proxy_session_relay.cc ----
  void startUpstream();
  bool idempotent() const;
  std::optional<uint64_t> hashKey(const upstream::PoolSnapshot& pool);
  void writeUpstream(const char* data, size_t length);
  void writeUpstreamCopy(const char* data, size_t length);
  void writeClient(const char* data, size_t length);
  void writeClientCopy(const char* data, size_t length);
  void abortUpstream();
  // Passive health: one more failure of backend_; enough in a row reports it for ejection.
  void noteBackendFailure();
  void releaseBackend();
  // Takes back a response head (and body bytes) not yet handed to the socket; false if any
  // byte of it may have left.
  bool withdrawUnsentResponse();

  Worker& worker_;
  ExchangeOwner& owner_;
  const http::Http1Parser& request_;
  PinnedSnapshot* const pinned_;
  const uint64_t request_started_ns_;

  const routing::Route* route_ = nullptr;
  // The request target in absolute form ("http://h/p"), split; points into the request head.
  std::optional<http::AbsoluteTarget> absolute_target_;
  // The target routed on and sent to the backend when it is not the one received: the path in
  // normal form (http/path_normalizer.h), or the origin-form of an absolute-form target.
  std::string_view forward_target_;
  std::string normalized_target_;  // holds forward_target_ when the path was normalised
  std::string shaped_target_;      // holds forward_target_ when the route changed the path
  const routing::LocalAnswer* route_answer_ = nullptr;  // the route answers itself
  const upstream::PoolSnapshot* pool_ = nullptr;        // chosen for this request (pinned)
  uint32_t pool_index_ = 0;                             // its index in the pinned snapshot
  uint64_t pool_id_ = 0;
  uint64_t upstream_head_ns_ = 0;  // when the backend's response head arrived
  uint64_t response_bytes_ = 0;
  const upstream::BackendInfo* last_backend_ = nullptr;  // pinned with the snapshot
  int response_status_ = 0;
  MirrorExchange* mirror_ = nullptr;  // while the request body streams to a copy
  upstream::WorkerBackend* backend_ = nullptr;
  upstream::UpstreamConnection* upstream_ = nullptr;
  // The request head for the backend, kept to replay on a retry; once the response starts, it
  // holds the response head instead.
  std::string head_;
  // Request body bytes as sent (framing included), kept for a retry while small.
  std::string replay_;
  absl::InlinedVector<uint32_t, 4> tried_;
  int local_status_ = 0;  // answer locally once the request is complete
  std::string_view local_detail_;
  // Extra header lines for a local reply ("Retry-After: 3\r\n"), and the limit that refused
  // the request (access log).
  std::string local_headers_;
  std::string_view limited_by_;
  std::string_view cut_by_;  // static strings only
  uint32_t tries_ = 0;
  // Request identity: the header it travels in (empty: none), and the id, pointing into the
  // client's head (its own id, or its traceparent's trace-id) or at generated_id_.
  std::string_view request_id_header_;
  std::string_view request_id_;
  bool request_id_generated_ = false;  // the client's header (if any) is replaced upstream
  char generated_id_[kGeneratedRequestIdLength];
  // max_body: the limit in force (0: none) and the body bytes read so far.
  uint64_t max_body_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  // The last try's phases (access log): its start, when its connection was ready, and when its
  // response ended.
  uint64_t try_started_ns_ = 0;
  uint64_t try_connected_ns_ = 0;
  uint64_t upstream_done_ns_ = 0;
  // Set when the last try could not connect (how: the answer once every backend was tried).
  std::optional<upstream::UpstreamFailure> last_connect_failure_;
  bool keep_alive_ = true;
  bool client_closes_ = false;  // the client said this request is its last one
  bool client_http11_ = true;
  bool head_request_ = false;
  bool upgrade_request_ = false;
  bool request_chunked_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;  // response bytes went to the client
  bool chunk_response_ = false;
  bool replayable_ = true;
  bool mirrored_ = false;
  bool waiting_for_connect_ = false;  // client reads held until the backend answers connect
  bool upstream_paused_ = false;      // backend reads paused for client backpressure
  bool tunnel_ = false;               // after 101 Switching Protocols
  bool upstream_eof_ = false;         // tunnel: the backend's half-close
  bool recorded_ = false;
};

}  // namespace sy::proxy
