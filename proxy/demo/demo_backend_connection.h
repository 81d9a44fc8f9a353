#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "core/intrusive_list.h"
#include "core/tcp_transport.h"
#include "core/uv_handle.h"
#include "http/http1_parser.h"
#include "proxy/demo/demo_backend_state.h"

// OpenSSL's digest context, declared here so the header stays free of OpenSSL includes.
struct evp_md_ctx_st;

namespace sy::proxy {

class DemoWorker;

// One accepted connection of the demo backend: parses requests with Http1Parser, answers them
// strictly in order (pipelined requests wait, unparsed, while an answer is delayed or streamed)
// and deletes itself once its socket is closed.
class DemoConnection final : public core::TransportCallbacks,
                             public http::ParserCallbacks,
                             public core::ListLinks<DemoConnection> {
 public:
  explicit DemoConnection(DemoWorker* worker);
  ~DemoConnection();
  DemoConnection(const DemoConnection&) = delete;
  DemoConnection& operator=(const DemoConnection&) = delete;

  // Accepts the pending connection of `server`; on failure the connection closes itself.
  void start(uv_stream_t* server);
  // The worker is stopping: close now when idle, else after the answer in progress.
  void drain();
  // The shutdown grace is over.
  void forceClose();

  void onTransportData(const char* data, size_t length) override;
  void onTransportEof() override;
  void onTransportError(int uv_status) override;
  void onTransportWritable() override;
  void onTransportClosed() override;

  HeadAction onHeadComplete() override;
  void onBody(const char* data, size_t length) override;
  void onMessageComplete() override;

 private:
  friend class DemoWorker;  // links the intrusive list

  enum class State {
    kReading,     // parsing requests; answers written from inside the parser callbacks
    kResponding,  // an answer waits for a timer or for the socket to drain; input is held
    kTunnel,      // after 101: every byte read is written back
    kLingering,   // FIN sent after the last answer; reading and discarding until the peer closes
    kClosed,
  };
  enum class Route {
    kDefault,
    kHealth,
    kControlHealth,
    kControlFail,
    kControlStats,
    kDelay,
    kStatus,
    kBytes,
    kEcho,
    kClose,
    kReset,
    kWebSocket,
    kBadRequest,  // well-formed HTTP, bad endpoint parameters: 400 on a live connection
    kNotFound,
    kMethodNotAllowed,
  };
  enum class TimerPurpose { kDelay, kLinger, kFlush };

  static void onTimer(uv_timer_t* timer);

  void processInput(const char* data, size_t length);
  // Input that is not parsed now: held while an answer is being written, relayed in a tunnel.
  void holdOrRelay(const char* data, size_t length);
  void resumeInput();
  void routeRequest();
  void dispatch();
  void respond();
  void finishResponse();

  void sendDefault();
  void sendSimple(int status, std::string_view body, std::string_view content_type = "text/plain",
                  std::string_view extra_headers = {});
  void sendEcho();
  // Ends the body's SHA-256 into body_sha256_ (or sets digest_failed_).
  void finishDigest();
  // --log-requests: the request_received event.
  void logRequest();
  void sendBytesHead();
  void pumpBytes();
  void sendUpgrade();
  void controlHealth();
  void controlFail();
  void sendStats();
  void sendParseError();

  // Decides whether the connection closes after this answer and says so in its head.
  ConnectionHeader beginResponse();
  void startLingeringClose();
  void closeWhenFlushed();
  void close();
  void startTimer(TimerPurpose purpose, uint64_t timeout_ms, uint64_t repeat_ms = 0);
  void stopTimer();

  DemoWorker* worker_;
  core::TcpTransport transport_;
  http::Http1Parser parser_;
  State state_ = State::kReading;

  // Input read while an answer was in progress; parsed once it is done.
  std::string pending_;
  // Created on first use and kept for the life of the connection (delays, lingering close).
  core::UvHandle<uv_timer_t> timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kDelay;

  uint64_t messages_completed_ = 0;
  uint64_t flush_polls_ = 0;
  bool parser_paused_ = false;  // a request ended and the parser waits for resume()
  bool peer_eof_ = false;
  bool blocked_on_write_ = false;  // answers piled up faster than the peer reads them

  // The request being answered. Everything is taken from the head when it completes: views into
  // the head would not survive chunked trailers.
  Route route_ = Route::kDefault;
  std::string bad_request_reason_;
  uint64_t number_ = 0;  // the numeric path parameter: delay ms, status code or byte count
  double control_rate_ = 0;
  int control_status_ = 0;
  int fail_status_ = 0;
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool fails_ = false;
  bool resets_ = false;  // --reset-rate picked this request
  bool chunked_ = false;
  bool close_after_ = false;  // decided when the answer's head is written
  bool streaming_ = false;    // /bytes body in progress
  bool digest_failed_ = false;

  // /echo, and every request with --log-requests: a streaming SHA-256 of the request body.
  bool hash_body_ = false;
  evp_md_ctx_st* sha_ = nullptr;
  uint64_t body_bytes_ = 0;
  std::string body_sha256_;  // lowercase hex, once the request is complete

  // /bytes: what is left to send.
  uint64_t bytes_sent_ = 0;
};

}  // namespace sy::proxy
