#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/timeout_queue.h"
#include "proxy/exchange_owner.h"
#include "proxy/h2_limits.h"
#include "proxy/h2_session_memory.h"
#include "tls/stream_transport.h"

namespace sy::proxy {

class DownstreamConnection;
class H2Stream;
class Worker;

// The HTTP/2 codec of one client connection (RFC 9113, frames by nghttp2): an h2c connection
// that started with the client preface, or a TLS one whose ALPN chose h2. The
// DownstreamConnection keeps the socket, its timeouts and its close; this class turns the bytes
// into streams (proxy/h2_stream.h), each carried by an exchange of its own, and the streams'
// answers into frames.
//
// nghttp2 is never re-entered: it sends (nghttp2_session_mem_send) only from this class's own
// entry points (input, flush, writable), never from inside an exchange's call, so a stream
// closed by nghttp2 never has its exchange on the stack. An exchange that writes asks for a
// flush, which the worker runs soon after (Worker::defer).
//
// Hibernation: nghttp2's session is most of an idle connection's memory (about 25 KB, which
// nghttp2 has no API to shrink), so it lives in pages of its own (proxy/h2_session_memory.h). A
// connection with no stream and nothing to send for kHibernateDelayMs packs those pages into a
// small heap image and gives them back. The object itself lives in the slot too (create()), so
// a hibernated connection keeps only its H2SessionMemory outside (the slot's address, the
// image), which its owner holds (it must outlive the connection): the owner wakes it
// (wakeHibernated()) before anything touches the object, and every call into nghttp2 starts
// from the object, so the session is awake whenever it is used.
class H2Connection final : private core::TimeoutEntry {
 public:
  // The connection's timer after a step (DownstreamConnection keeps the one timer).
  enum class Timer : uint8_t {
    kUnchanged,  // as it was
    kIdle,       // (re)start keepalive_timeout: the last stream just closed, or none yet
    kStall,      // (re)start http2_stall_timeout: response data stopped moving, or moved a bit
    kNone,       // streams run and their data moves: the exchanges' own timeouts govern
  };

  // A connection allocated in the host's H2SessionMemory (DownstreamConnection::h2Memory()):
  // in a slot of the worker's pool, on the heap when the pool has none left; not started yet.
  // nullptr when out of memory. Found again as `memory.firstBlock()` (at(): no pointer of its
  // own); free it with destroy(), never with delete.
  static H2Connection* create(H2SessionMemory& memory, Worker& worker, DownstreamConnection& host);
  // The connection made in `memory` (awake; one was made).
  static H2Connection* at(const H2SessionMemory& memory) {
    return static_cast<H2Connection*>(memory.firstBlock());
  }
  // Wakes the connection if it sleeps, ends its session and gives its bytes back to `memory`
  // (the one it was created in). Nothing without one.
  static void destroy(H2SessionMemory& memory, Worker& worker, DownstreamConnection& host);
  // Puts a hibernated session's bytes back (the connection object with them); counted. `host`
  // is the connection's owner (a hibernated object does not keep it: one difference fewer
  // from the slot template per connection).
  static void wakeHibernated(H2SessionMemory& memory, Worker& worker, DownstreamConnection& host);
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Sends the server's SETTINGS; false when nghttp2 could not start.
  bool start();
  // Bytes from the client (the preface first). False: the connection must close now (a
  // connection error; the GOAWAY, if any, is queued already).
  bool onInput(const char* data, size_t length);
  // Runs what the streams asked for (held input, writable notices) and sends. False: close.
  bool flush();
  // The socket can take more: sending goes on, exchanges hear that the client reads again.
  bool onWritable();
  // Graceful end (worker drain): GOAWAY, streams in flight finish, no new ones start.
  void drain();
  // The connection closes now: every exchange still running is recorded as cut short.
  void abort(std::string_view cut_by);
  // Nothing more to read or write (after GOAWAY both ways, or drained): close.
  bool finished();
  bool idle() const { return streams_.empty(); }
  // What the timer must do now; call after every step. An idle connection's timer is not
  // restarted by frames that open no stream (PING, SETTINGS): idle means no stream.
  Timer timerAfterStep();
  // The listener's limits as when the connection began (a reload keeps them).
  const routing::Http2Limits& limits() { return kept_->limits; }

  // How long a connection must be idle (no stream, nothing to send) before its session is
  // packed away. Short: a busy connection never waits this long between streams for nothing,
  // and an idle one wakes in microseconds (a copy of its 1-2 KB image).
  static constexpr uint64_t kHibernateDelayMs = 1000;

  // ---- For the streams ----
  // The session (awake: this object sleeps with it, so whoever reaches the object woke both).
  nghttp2_session* session() { return session_; }
  Worker& worker() { return worker_; }
  // The streams' client IP text, formatted once for the connection's life (the host fills it).
  std::string& clientIpCache() { return client_ip_; }
  ExchangeOwner& client() { return *client_; }
  // Asks for a flush soon (outside the current call stack).
  void scheduleFlush();
  bool socketAboveHighWatermark() const;
  // Response DATA left the proxy (a window opened): a stall, if any, starts over.
  void noteResponseProgress() { progressed_ = true; }
  // The connection's timer is the stall timeout (for the defence counter when it fires).
  bool stalled() const { return timer_ == Timer::kStall; }

 private:
  H2Connection(Worker& worker, DownstreamConnection& host);
  ~H2Connection() override;

  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* self);
  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* self);
  static int onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* self);
  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* self);
  static int onFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void* self);

  H2Stream* findStream(int32_t stream_id);
  // The owner, its socket and the memory this object lives in (all the host's: one pointer
  // here, which a hibernation clears).
  DownstreamConnection& host() const;
  tls::StreamTransport& transport() const;
  H2SessionMemory& memory() const;
  // nghttp2 gave up on the connection (`nghttp2_error`): the defence counter it stands for.
  void countFatalError(int nghttp2_error);
  // A client RST_STREAM: counted; past http2_max_resets per interval, GOAWAY ENHANCE_YOUR_CALM.
  void countClientReset();
  // Response data waits for the client: its flow-control window (the connection's or the
  // stream's) is closed, or it does not read the socket.
  bool responseBlocked();
  // Hands nghttp2's pending frames to the socket (unless it is above its high watermark).
  bool send();
  // Idle (no stream) after a step: the hibernation delay starts over.
  void armHibernation();
  // The hibernation delay ran out (the connection's own timeout entry: DownstreamConnection's
  // one entry is the keep-alive timeout, which goes on while the session sleeps).
  void onTimeout() override;

  Worker& worker_;
  // The host (a DownstreamConnection) as the streams' owner; null while hibernated (set again
  // by wakeHibernated).
  ExchangeOwner* client_;
  nghttp2_session* session_ = nullptr;  // through session() only: it may be hibernated
  uint64_t idle_since_ms_ = 0;          // the loop's clock at the last step that left no stream
  absl::flat_hash_map<int32_t, std::unique_ptr<H2Stream>> streams_;
  // The stream findStream found last: nghttp2's callbacks come mostly for one stream in a row
  // (a request's fields, its frames), so most lookups skip the map. Cleared with its entry.
  H2Stream* last_stream_ = nullptr;
  // State that nobody reads while the session sleeps, kept in the session's slot (hibernated
  // with it, mostly equal to the template's): 56 bytes fewer per idle connection. Made by
  // start(), before the session; through limits() or after session() only.
  struct Kept {
    const routing::Http2Limits limits;  // as when the connection began (a reload keeps them)
    Http2ResetCounter resets;
  };
  Kept* kept_ = nullptr;
  std::string client_ip_;
  Timer timer_ = Timer::kUnchanged;  // what the timer does now (kUnchanged: not set yet)
  bool progressed_ = false;          // response DATA went out since the last step
  bool closed_ = false;              // abort(): callbacks after it are ignored
  bool draining_ = false;            // GOAWAY sent
};

}  // namespace sy::proxy
