#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "proxy/client_limits.h"
#include "proxy/tls/stream_transport.h"
#include "proxy/core/timeout_queue.h"
#include "proxy/http/http1_parser.h"
#include "proxy/http/request_target.h"
#include "routing/route_table.h"
#include "routing/snapshot.h"
#include "routing/traffic_split.h"
#include "upstream/upstream_connection.h"

namespace sy::proxy {

class MirrorExchange;
class Worker;
struct PinnedSnapshot;

// One client connection and the request it is serving (HTTP/1.1: one at a time; pipelined
// requests wait their turn). It parses the request, routes it with the snapshot current at the
// request's start, picks a backend, streams the request body up and the response down with
// backpressure both ways, retries what may be retried, and answers errors itself.
//
// Lifetime: created by the listener, freed only from the transport's close callback, so any
// callback may decide to close. An idle connection holds no buffers: the parser's head storage
// and all strings are released between requests.
class DownstreamConnection final : public core::TransportCallbacks,
                                   public http::ParserCallbacks,
                                   public upstream::UpstreamHandler,
                                   public core::TimeoutEntry {
 public:
  DownstreamConnection(Worker& worker, uint32_t listener_index);
  ~DownstreamConnection();

  // Starts serving a socket the listener accepted. On error the object frees itself (and the
  // socket is closed).
  int accept(int fd);

  // What the listener's limits counted for this connection, given back when it is freed.
  void holdTicket(ConnectionTicket ticket) { ticket_ = std::move(ticket); }

  // Graceful shutdown: close now if idle, else after the current response.
  void drain();
  // Close now, whatever is in flight.
  void forceClose();
  // Continues with pipelined requests (scheduled by Worker::defer).
  void runDeferred();

  // Intrusive list of the worker's connections.
  DownstreamConnection* prev = nullptr;
  DownstreamConnection* next = nullptr;
  bool deferred = false;

 private:
  enum class State {
    kIdle,       // between requests (keep-alive) or before the first one
    kActive,     // a request is being read, forwarded or answered
    kTunnel,     // after 101 Switching Protocols: raw bytes both ways
    kLingering,  // response sent, FIN sent, waiting briefly for the client to go
    kClosed,
  };

  // core::TransportCallbacks
  void onTransportData(const char* data, size_t length) override;
  void onTransportEof() override;
  void onTransportError(int uv_status) override;
  void onTransportWritable() override;
  void onTransportClosed() override;
  // http::ParserCallbacks (the request)
  HeadAction onHeadComplete() override;
  void onBody(const char* data, size_t length) override;
  void onMessageComplete() override;
  // upstream::UpstreamHandler
  void onUpstreamConnected() override;
  void onUpstreamInformational(const http::Http1Parser& response) override;
  HeadAction onUpstreamHead(const http::Http1Parser& response) override;
  void onUpstreamBody(const char* data, size_t length) override;
  void onUpstreamComplete() override;
  void onUpstreamTunnelData(const char* data, size_t length) override;
  void onUpstreamTunnelEof() override;
  void onUpstreamFailure(upstream::UpstreamFailure failure, int uv_status,
                         bool response_started) override;
  void onUpstreamWritable() override;
  // core::TimeoutEntry
  void onTimeout() override;

  void parseInput(const char* data, size_t length);
  void startUpstream();
  void forwardRequestBody(const char* data, size_t length);
  void writeUpstream(const char* data, size_t length);
  void writeClient(const char* data, size_t length);
  void writeClientCopy(const char* data, size_t length);
  void writeUpstreamCopy(const char* data, size_t length);
  const routing::ListenerSettings& listenerSettings() const;
  // Takes back a response head (and body bytes) not yet handed to the socket; false if any
  // byte of it may have left.
  bool withdrawUnsentResponse();
  void respondLocally(int status, std::string_view detail);
  void finishRequest();
  void recordRequest();
  void maybeMirror(const routing::SplitInput& split);
  void mirrorBody(const char* data, size_t length, uint64_t payload_bytes);
  void resetExchange();
  void closeAfterResponse();
  void close();
  void abortUpstream();
  // Passive health: one more failure of backend_; enough in a row reports it for ejection.
  void noteBackendFailure();
  void releaseBackend();
  void resumeClientReading();
  bool idempotent() const;
  const std::string& clientIp();
  // The client's request rate (proxy/client_limits.h): true when this request is refused with
  // 429 Too Many Requests.
  bool refuseOverRateLimit();
  std::optional<uint64_t> hashKey(const upstream::PoolSnapshot& pool);
  // Brings the request path to normal form; false when the request was refused (400).
  bool normalizeTarget();

  Worker& worker_;
  const uint32_t listener_index_;
  tls::StreamTransport transport_;  // TCP, or TLS over it on a TLS listener
  http::Http1Parser parser_;
  State state_ = State::kIdle;

  // The exchange in progress (reset by resetExchange()).
  PinnedSnapshot* pinned_ = nullptr;
  const routing::Route* route_ = nullptr;
  // The request target in absolute form ("http://h/p"), split; points into the parser's head.
  std::optional<http::AbsoluteTarget> absolute_target_;
  // The target routed on and sent to the backend when it is not the one received: the path in
  // normal form (http/path_normalizer.h), or the origin-form of an absolute-form target.
  std::string_view forward_target_;
  std::string normalized_target_;  // holds forward_target_ when the path was normalised
  const upstream::PoolSnapshot* pool_ = nullptr;  // chosen for this request (pinned)
  uint32_t pool_index_ = 0;                       // its index in the pinned snapshot
  uint64_t request_started_ns_ = 0;
  uint64_t upstream_head_ns_ = 0;  // when the backend's response head arrived
  uint64_t response_bytes_ = 0;
  const upstream::BackendInfo* last_backend_ = nullptr;  // pinned with the snapshot
  int response_status_ = 0;
  MirrorExchange* mirror_ = nullptr;  // while the request body streams to a copy
  bool mirrored_ = false;
  uint64_t pool_id_ = 0;
  upstream::WorkerBackend* backend_ = nullptr;
  upstream::UpstreamConnection* upstream_ = nullptr;
  // The request head for the backend, kept to replay on a retry; once the response starts, it
  // holds the response head instead.
  std::string head_;
  // Request body bytes as sent (framing included), kept for a retry while small.
  std::string replay_;
  // Bytes the client sent after the current request (pipelining, or tunnel data after Upgrade).
  std::string pending_input_;
  absl::InlinedVector<uint32_t, 4> tried_;
  int local_status_ = 0;  // answer locally once the request is complete
  std::string_view local_detail_;
  uint32_t tries_ = 0;
  bool last_failure_connect_ = false;  // the last try could not connect
  bool last_failure_timeout_ = false;  // ... because connecting timed out
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
  bool waiting_for_connect_ = false;  // client reads paused until the backend answers connect
  bool client_paused_ = false;        // client reads paused for upstream backpressure
  bool upstream_paused_ = false;      // backend reads paused for client backpressure
  bool parsing_ = false;              // inside parser_.execute()
  bool client_eof_ = false;
  bool upstream_eof_ = false;  // tunnel half-close
  bool first_request_ = true;

  std::string client_ip_;
  ConnectionTicket ticket_;
  // Extra header lines for a local reply ("Retry-After: 3\r\n"), and the limit that refused
  // the request (access log); both reset with the exchange.
  std::string local_headers_;
  std::string_view limited_by_;
};

}  // namespace sy::proxy
