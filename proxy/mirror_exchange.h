#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/intrusive_list.h"
#include "core/timeout_queue.h"
#include "routing/route_stats.h"
#include "upstream/connection_pool.h"
#include "upstream/upstream_connection.h"

namespace sy::upstream {
class WorkerPool;
}  // namespace sy::upstream

namespace sy::proxy {

class Worker;
using upstream::WorkerPool;

// One copy of a client request sent to a route's mirror pool, fire and forget: the copy gets
// the request's bytes as they stream to the primary backend, its answer is read and dropped,
// and nothing about it can delay the primary, its response, or the client's next request.
// When the shadow falls behind (its unsent bytes pass max_buffer_bytes), fails, or times out,
// the copy is abandoned and counted. Worker thread only.
//
// Lifetime: alive while the primary still feeds it or its own exchange runs; it frees itself.
class MirrorExchange final : public upstream::UpstreamHandler,
                             public core::TimeoutEntry,
                             public core::ListLinks<MirrorExchange> {
 public:
  struct Settings {
    uint64_t timeout_ms = 10000;
    uint64_t max_buffer_bytes = 1024 * 1024;
    uint64_t max_body_bytes = 1024 * 1024;
  };

  // Starts a copy with `head` (the request head for the shadow; `head_request`: its method is
  // HEAD, so the answer has no body). Returns null when the copy was dropped or failed at once
  // (counted in `stats`).
  static MirrorExchange* start(Worker& worker, WorkerPool& pool, std::string head,
                               bool head_request, const Settings& settings,
                               std::shared_ptr<routing::MirrorStats> stats);

  // The primary's body bytes, framed as sent upstream (chunk framing included).
  void body(const char* data, size_t length, uint64_t payload_bytes);
  // The request is complete: the copy is complete too.
  void requestComplete();
  // The primary stops feeding this copy; an incomplete copy is abandoned.
  void detach();
  // Worker shutdown.
  void abort();

 private:
  MirrorExchange(Worker& worker, const Settings& settings,
                 std::shared_ptr<routing::MirrorStats> stats);
  ~MirrorExchange() override;

  // upstream::UpstreamHandler
  void onUpstreamConnected() override {}
  void onUpstreamInformational(const http::Http1Parser& /*response*/) override {}  // dropped
  http::ParserCallbacks::HeadAction onUpstreamHead(const http::Http1Parser& response) override;
  void onUpstreamBody(const char*, size_t) override {}
  void onUpstreamComplete() override;
  void onUpstreamTunnelData(const char*, size_t) override {}
  void onUpstreamTunnelEof() override {}
  void onUpstreamFailure(upstream::UpstreamFailure failure, int uv_status,
                         bool response_started) override;
  void onUpstreamWritable() override {}
  // core::TimeoutEntry
  void onTimeout() override;

  enum class Outcome { kCompleted, kFailed, kDropped };
  void finish(Outcome outcome);
  void releaseIfDone();

  Worker& worker_;
  Settings settings_;
  std::shared_ptr<routing::MirrorStats> stats_owner_;
  routing::MirrorWorkerStats& stats_;
  upstream::WorkerBackend* backend_ = nullptr;
  upstream::UpstreamConnection* upstream_ = nullptr;
  std::string head_;
  uint64_t started_ns_ = 0;
  uint64_t body_bytes_ = 0;
  int status_ = 0;
  bool attached_ = true;   // the primary may still feed it
  bool finished_ = false;  // its own exchange is over
  bool request_complete_ = false;
};

}  // namespace sy::proxy
