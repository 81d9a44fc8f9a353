#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "core/intrusive_list.h"
#include "core/timeout_queue.h"
#include "http/http1_parser.h"
#include "tls/stream_transport.h"
#include "upstream/upstream_failure.h"

namespace sy::upstream {

class WorkerBackend;

// The exchange that currently uses a connection. All calls run on the worker's loop.
class UpstreamHandler {
 public:
  virtual void onUpstreamConnected() = 0;
  // An interim 1xx response other than 100 and 101 (103 Early Hints, 102): forwarded to HTTP/1.1
  // clients (RFC 9110 §15.2). Head accessors are valid during the call only.
  virtual void onUpstreamInformational(const http::Http1Parser& response) = 0;
  // The final response head arrived (100 Continue is absorbed: the proxy answers it). Return
  // kNoBody for the answer to HEAD.
  virtual http::ParserCallbacks::HeadAction onUpstreamHead(const http::Http1Parser& response) = 0;
  virtual void onUpstreamBody(const char* data, size_t length) = 0;
  // The response ended. The connection is already back in its pool or closing: the handler has
  // been detached and must not touch the connection again.
  virtual void onUpstreamComplete() = 0;
  // After a 101 answer: raw bytes from the backend, and its end of stream.
  virtual void onUpstreamTunnelData(const char* data, size_t length) = 0;
  virtual void onUpstreamTunnelEof() = 0;
  // The exchange failed. The handler has been detached and the connection is closing.
  // `response_started`: a response head was already delivered.
  virtual void onUpstreamFailure(UpstreamFailure failure, int uv_status, bool response_started) = 0;
  // The write backlog drained below the low watermark.
  virtual void onUpstreamWritable() = 0;

 protected:
  ~UpstreamHandler() = default;
};

// One HTTP/1.1 connection to a backend, owned by its WorkerBackend's pool. It parses responses
// itself, applies the pool's timeouts, and goes back to the idle list after a clean exchange.
// Memory is released only from the transport's close callback (never synchronously), so a
// handler may abort a connection from inside any callback.
class UpstreamConnection final : public core::TransportCallbacks,
                                 public http::ParserCallbacks,
                                 public core::TimeoutEntry,
                                 public core::ListLinks<UpstreamConnection> {
 public:
  explicit UpstreamConnection(WorkerBackend& backend);
  ~UpstreamConnection();

  WorkerBackend& backend() { return backend_; }
  // Starts connecting. Returns a libuv error code if the attempt could not even start.
  int connect();

  // Hands the connection to an exchange. `head_request`: the response has no body;
  // `upgrade_requested`: a 101 answer switches to a raw tunnel.
  void attach(UpstreamHandler* handler, bool head_request, bool upgrade_requested);
  bool reused() const { return exchanges_ > 0; }
  bool connected() const { return state_ != State::kConnecting; }

  // Bytes for the backend, through the loop's write batch: `data` must stay valid until the
  // batch is flushed (the end of the current read callback). writeCopy() has no such limit.
  void write(const char* data, size_t length);
  void writeCopy(const char* data, size_t length);
  bool aboveHighWatermark() const { return transport_.aboveHighWatermark(); }
  size_t pendingWriteBytes() const { return transport_.pendingWriteBytes(); }

  // The whole request was written: the response timeout starts.
  void requestComplete();
  // Backpressure from the client: stop/resume reading the response (the idle timeout pauses
  // with it: the client is the slow side then).
  void pauseReading();
  void resumeReading();
  // Tunnel half-close: the client finished sending.
  void shutdownWrite() { transport_.shutdownWrite(); }
  // Detaches the handler and closes; the connection is not reused.
  void abort();

  // Pool side.
  void closeIfIdle();
  bool idle() const { return state_ == State::kIdle; }

 private:
  friend class WorkerBackend;
  enum class State { kConnecting, kIdle, kActive, kTunnel, kClosing };

  // core::TransportCallbacks
  void onTransportData(const char* data, size_t length) override;
  void onTransportEof() override;
  void onTransportError(int uv_status) override;
  void onTransportConnected() override;
  void onTransportWritable() override;
  void onTransportClosed() override;
  // http::ParserCallbacks
  HeadAction onHeadComplete() override;
  void onBody(const char* data, size_t length) override;
  void onMessageComplete() override;
  // core::TimeoutEntry
  void onTimeout() override;

  void noteWrite();
  void fail(UpstreamFailure failure, int uv_status);
  void finishExchange();
  void close();
  void scheduleTimeout(uint64_t duration_ms);

  WorkerBackend& backend_;
  tls::StreamTransport transport_;  // TCP, or TLS over it for a pool with `tls`
  http::Http1Parser parser_;
  UpstreamHandler* handler_ = nullptr;
  uint32_t exchanges_ = 0;  // completed exchanges on this connection
  uint64_t connect_started_ns_ = 0;
  State state_ = State::kConnecting;
  bool head_request_ = false;
  bool upgrade_requested_ = false;
  bool request_complete_ = false;
  bool head_delivered_ = false;
  bool interim_response_ = false;
  bool message_complete_ = false;
  bool reading_paused_ = false;
};

}  // namespace sy::upstream
