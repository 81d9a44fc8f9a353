// flip_load: steady HTTP/1.1 load through a proxy while its backend group is flipped between two
// pools, recording for every response which backend answered (the demo backend's X-Backend
// header). Used by bench/run.sh for Switchyard, nginx and HAProxy alike.
//
//   flip_load --target 127.0.0.1:8080 --pools blue,green --flips 100 --interval-ms 100
//             --switch 'http:127.0.0.1:9901:/admin/switch?to={pool}'
//
// --switch, with {pool} replaced by the pool to switch to:
//   http:HOST:PORT:PATH          POST PATH; the flip is done when the answer (2xx) arrives
//   unix:SOCKET:LINE             send LINE + "\n" to a unix socket (HAProxy's runtime API, e.g.
//                                "set map /x/active.map active be_{pool}") and read to EOF
//   nginx:PIDFILE:DEST:SOURCE    copy SOURCE to DEST (temporary file + rename), then SIGHUP the
//                                pid in PIDFILE (what `nginx -s reload` does)
//
// Load: --connections keep-alive connections in one epoll thread, closed loop (a connection sends
// its next request as soon as the previous response is complete). Another thread flips: it
// records t0, performs the switch, records t1 (the switch call returned), waits until a response
// from the new pool arrived (at most --settle-ms), then sleeps --interval-ms.
//
// Per flip, from the response log:
//   switch_ms     t1 - t0: how long the switch call took
//   first_new_ms  t0 -> the first response from the new pool
//   converged_ms  t0 -> the send time of the last request the old pool answered (0 if none)
//   stale         responses from the old pool to requests sent after t1 (the switch call had
//                 returned, yet the request reached the old pool)
// Errors: a request without a 2xx answer (connect error, reset or close after part of the
// answer, timeout, bad status). A keep-alive connection that the server closed before any byte
// of the answer is retried once on a new connection, as HTTP clients do for idempotent requests
// (RFC 9112 9.3.1); those are counted as `retried`, not failed.
//
// Prints one JSON object on stdout. Only ever connects to the --target given.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flip_switch.h"

namespace {

using flip_load::die;
using flip_load::doSwitch;
using flip_load::loopbackAddress;
using flip_load::replaceAll;

uint64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> pools;
  int connections = 16;
  int flips = 100;
  int interval_ms = 100;
  int warmup_ms = 500;
  int settle_ms = 5000;
  int timeout_ms = 5000;
  std::string path = "/";
  std::string switch_spec;
  std::string label;
};

std::vector<std::string> split(std::string_view text, char sep, size_t max_parts = 0) {
  std::vector<std::string> parts;
  while (true) {
    if (max_parts != 0 && parts.size() + 1 == max_parts) {
      parts.emplace_back(text);
      break;
    }
    const size_t at = text.find(sep);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return parts;
}

// ---------------------------------------------------------------- the load

enum ErrorKind { kConnect, kReset, kTimeout, kStatus, kParse, kErrorKinds };
const char* const kErrorNames[kErrorKinds] = {"connect", "reset", "timeout", "status", "parse"};

struct Response {
  uint64_t sent_ns;
  uint64_t received_ns;
  int8_t pool;  // index into Options::pools, -1 for an unknown backend
};

struct Connection {
  int fd = -1;
  bool connecting = false;
  bool outstanding = false;  // a request was sent and its response is not complete
  bool retried = false;      // the current request was already resent once
  uint32_t responses = 0;    // on this TCP connection
  uint64_t sent_ns = 0;
  std::string in;
};

class Load {
 public:
  Load(const Options& options, std::atomic<bool>& stop)
      : options_(options), stop_(stop), addr_(loopbackAddress(options.host, options.port)) {
    request_ = "GET " + options.path + " HTTP/1.1\r\nHost: " + options.host + ":" +
               std::to_string(options.port) + "\r\nUser-Agent: flip_load\r\n\r\n";
    for (auto& seen : last_seen_ns_) seen.store(0);
  }

  void run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    connections_.resize(static_cast<size_t>(options_.connections));
    responses_.reserve(4 << 20);
    for (size_t i = 0; i < connections_.size(); ++i) open(i);
    epoll_event events[256];
    uint64_t last_timeout_check = nowNs();
    while (!stop_.load(std::memory_order_relaxed)) {
      const int n = epoll_wait(epoll_, events, 256, 50);
      for (int e = 0; e < n; ++e) {
        const size_t index = events[e].data.u64;
        handle(index, events[e].events);
      }
      const uint64_t now = nowNs();
      if (now - last_timeout_check > 50000000ULL) {
        last_timeout_check = now;
        const uint64_t limit = static_cast<uint64_t>(options_.timeout_ms) * 1000000ULL;
        for (size_t i = 0; i < connections_.size(); ++i) {
          Connection& c = connections_[i];
          if (c.outstanding && now - c.sent_ns > limit) {
            fail(i, kTimeout);
          }
        }
      }
    }
    for (Connection& c : connections_) {
      if (c.fd >= 0) close(c.fd);
    }
    close(epoll_);
  }

  // Another thread: the time of the newest response from `pool`.
  uint64_t lastSeen(int pool) const { return last_seen_ns_[pool].load(std::memory_order_acquire); }

  const std::vector<Response>& responses() const { return responses_; }
  uint64_t errors(int kind) const { return errors_[kind]; }
  uint64_t retried() const { return retried_; }
  uint64_t reconnects() const { return reconnects_; }

 private:
  void open(size_t index) {
    Connection& c = connections_[index];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die("socket failed (raise ulimit -n?)");
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.responses = 0;
    c.in.clear();
    const int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    c.connecting = rc != 0 && errno == EINPROGRESS;
    if (rc != 0 && !c.connecting) {
      ++errors_[kConnect];
      close(c.fd);
      c.fd = -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      open(index);
      return;
    }
    epoll_event ev{};
    ev.events = c.connecting ? (EPOLLIN | EPOLLOUT) : static_cast<uint32_t>(EPOLLIN);
    ev.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    if (!c.connecting) send(index);
  }

  void reopen(size_t index) {
    Connection& c = connections_[index];
    if (c.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
    ++reconnects_;
    open(index);
  }

  // Sends the request (a fresh one, or a retry of the outstanding one).
  void send(size_t index) {
    Connection& c = connections_[index];
    if (!c.outstanding) {
      c.sent_ns = nowNs();
      c.retried = false;
    }
    c.outstanding = true;
    // The request is ~60 bytes: a fresh socket buffer always takes it whole.
    const ssize_t n = write(c.fd, request_.data(), request_.size());
    if (n != static_cast<ssize_t>(request_.size())) {
      closedEarly(index);
    }
  }

  void fail(size_t index, ErrorKind kind) {
    ++errors_[kind];
    connections_[index].outstanding = false;
    reopen(index);
  }

  // The server closed (or reset) the connection while a request was outstanding.
  void closedEarly(size_t index) {
    Connection& c = connections_[index];
    if (c.outstanding && c.in.empty() && c.responses > 0 && !c.retried) {
      ++retried_;
      c.retried = true;  // keeps c.sent_ns: the retry's time counts from the first try
      reopen(index);
      return;
    }
    if (c.outstanding) {
      fail(index, kReset);
    } else {
      reopen(index);
    }
  }

  void handle(size_t index, uint32_t events) {
    Connection& c = connections_[index];
    if (c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        // A request waiting for this connection (a retry) fails with it.
        ++errors_[kConnect];
        c.outstanding = false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        reopen(index);
        return;
      }
      c.connecting = false;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = index;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
      send(index);
      return;
    }
    char buffer[65536];
    while (true) {
      const ssize_t n = read(c.fd, buffer, sizeof buffer);
      if (n > 0) {
        c.in.append(buffer, static_cast<size_t>(n));
        if (!consume(index)) return;  // the connection was replaced
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      closedEarly(index);  // EOF or error
      return;
    }
  }

  // Parses complete responses in c.in. Returns false when the connection was replaced.
  bool consume(size_t index) {
    Connection& c = connections_[index];
    while (true) {
      const size_t head_end = c.in.find("\r\n\r\n");
      if (head_end == std::string::npos) return true;
      if (!c.outstanding || c.in.compare(0, 9, "HTTP/1.1 ") != 0 || c.in.size() < 12) {
        fail(index, kParse);
        return false;
      }
      const int status = std::atoi(c.in.c_str() + 9);
      int64_t content_length = -1;
      bool close_after = false;
      int pool = -1;
      size_t line = c.in.find("\r\n") + 2;
      while (line < head_end) {
        const size_t end = c.in.find("\r\n", line);
        const std::string_view field(c.in.data() + line, end - line);
        const size_t colon = field.find(':');
        if (colon != std::string_view::npos) {
          std::string name(field.substr(0, colon));
          std::transform(name.begin(), name.end(), name.begin(), ::tolower);
          std::string_view value = field.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (name == "content-length") {
            content_length = std::strtoll(std::string(value).c_str(), nullptr, 10);
          } else if (name == "connection") {
            close_after = value.find("close") != std::string_view::npos ||
                          value.find("Close") != std::string_view::npos;
          } else if (name == "x-backend") {
            for (size_t p = 0; p < options_.pools.size(); ++p) {
              if (value == options_.pools[p]) pool = static_cast<int>(p);
            }
          } else if (name == "transfer-encoding") {
            fail(index, kParse);  // the demo backend always sends Content-Length
            return false;
          }
        }
        line = end + 2;
      }
      if (content_length < 0) {
        fail(index, kParse);
        return false;
      }
      const size_t total = head_end + 4 + static_cast<size_t>(content_length);
      if (c.in.size() < total) return true;
      const uint64_t now = nowNs();
      c.in.erase(0, total);
      c.outstanding = false;
      ++c.responses;
      if (status < 200 || status > 299) {
        ++errors_[kStatus];
      } else {
        responses_.push_back({c.sent_ns, now, static_cast<int8_t>(pool)});
        if (pool >= 0) last_seen_ns_[pool].store(now, std::memory_order_release);
      }
      if (close_after) {
        reopen(index);
        return false;
      }
      send(index);
    }
  }

  const Options& options_;
  std::atomic<bool>& stop_;
  sockaddr_in addr_;
  std::string request_;
  int epoll_ = -1;
  std::vector<Connection> connections_;
  std::vector<Response> responses_;
  uint64_t errors_[kErrorKinds] = {};
  uint64_t retried_ = 0;
  uint64_t reconnects_ = 0;
  std::atomic<uint64_t> last_seen_ns_[8];
};

struct Flip {
  uint64_t t0;
  uint64_t t1;
  int target;
  std::string error;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

std::string stats(const std::vector<double>& values) {
  char text[160];
  std::snprintf(text, sizeof text, "{\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}",
                percentile(values, 50), percentile(values, 99),
                values.empty() ? 0.0 : *std::max_element(values.begin(), values.end()));
  return text;
}

void usage() {
  std::fprintf(stderr,
               "usage: flip_load --target 127.0.0.1:PORT --pools A,B --switch SPEC [--flips N]\n"
               "  [--interval-ms MS] [--connections N] [--warmup-ms MS] [--settle-ms MS]\n"
               "  [--timeout-ms MS] [--path P] [--label TEXT]   (see the top of flip_load.cc)\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage();
    if (i + 1 >= argc) usage();
    const std::string value = argv[++i];
    if (flag == "--target") {
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) usage();
      options.host = value.substr(0, colon);
      options.port = std::atoi(value.c_str() + colon + 1);
    } else if (flag == "--pools") {
      options.pools = split(value, ',');
    } else if (flag == "--connections") {
      options.connections = std::atoi(value.c_str());
    } else if (flag == "--flips") {
      options.flips = std::atoi(value.c_str());
    } else if (flag == "--interval-ms") {
      options.interval_ms = std::atoi(value.c_str());
    } else if (flag == "--warmup-ms") {
      options.warmup_ms = std::atoi(value.c_str());
    } else if (flag == "--settle-ms") {
      options.settle_ms = std::atoi(value.c_str());
    } else if (flag == "--timeout-ms") {
      options.timeout_ms = std::atoi(value.c_str());
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--switch") {
      options.switch_spec = value;
    } else if (flag == "--label") {
      options.label = value;
    } else {
      usage();
    }
  }
  if (options.port <= 0 || options.pools.size() != 2 || options.switch_spec.empty() ||
      options.connections < 1 || options.flips < 0) {
    usage();
  }
  loopbackAddress(options.host, options.port);  // refuses anything but 127.0.0.0/8
  std::vector<std::string> spec;
  if (options.switch_spec.rfind("http:", 0) == 0) {
    spec = split(options.switch_spec, ':', 4);
  } else if (options.switch_spec.rfind("unix:", 0) == 0) {
    spec = split(options.switch_spec, ':', 3);
  } else if (options.switch_spec.rfind("nginx:", 0) == 0) {
    spec = split(options.switch_spec, ':', 4);
  }
  if (spec.size() < 3) die("bad --switch " + options.switch_spec);
  signal(SIGPIPE, SIG_IGN);

  std::atomic<bool> stop{false};
  Load load(options, stop);
  const uint64_t start = nowNs();
  std::thread load_thread([&load] { load.run(); });

  std::vector<Flip> flips;
  std::this_thread::sleep_for(std::chrono::milliseconds(options.warmup_ms));
  // Start from the first pool, whatever the proxy was left on.
  std::string error = doSwitch(spec, options.pools[0]);
  if (!error.empty()) {
    stop = true;
    load_thread.join();
    die("initial switch: " + error);
  }
  {
    const uint64_t t0 = nowNs();
    while (load.lastSeen(0) < t0 &&
           nowNs() - t0 < static_cast<uint64_t>(options.settle_ms) * 1000000ULL) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
  }
  const uint64_t measure_start = nowNs();
  for (int i = 0; i < options.flips; ++i) {
    const int target = (i + 1) % 2;
    Flip flip;
    flip.target = target;
    flip.t0 = nowNs();
    flip.error = doSwitch(spec, options.pools[static_cast<size_t>(target)]);
    flip.t1 = nowNs();
    flips.push_back(flip);
    // Wait for the new pool to answer (at most settle-ms), then let the load run a while.
    while (load.lastSeen(target) < flip.t0 &&
           nowNs() - flip.t0 < static_cast<uint64_t>(options.settle_ms) * 1000000ULL) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
  }
  const uint64_t measure_end = nowNs();
  stop = true;
  load_thread.join();
  (void)start;

  // Analysis. Responses are in arrival order.
  const std::vector<Response>& responses = load.responses();
  std::vector<double> switch_ms, first_new_ms, converged_ms;
  uint64_t stale = 0, flips_with_stale = 0, missing_new = 0, switch_errors = 0, unknown = 0;
  uint64_t measured = 0;
  size_t cursor = 0;
  for (const Response& r : responses) {
    if (r.received_ns >= measure_start && r.received_ns < measure_end) {
      ++measured;
      if (r.pool < 0) ++unknown;
    }
  }
  std::string first_error;
  for (size_t i = 0; i < flips.size(); ++i) {
    const Flip& flip = flips[i];
    if (!flip.error.empty()) {
      ++switch_errors;
      if (first_error.empty()) first_error = flip.error;
    }
    const uint64_t window_end = i + 1 < flips.size() ? flips[i + 1].t0 : measure_end;
    switch_ms.push_back(static_cast<double>(flip.t1 - flip.t0) / 1e6);
    while (cursor < responses.size() && responses[cursor].received_ns < flip.t0) ++cursor;
    bool found = false;
    uint64_t last_old_send = 0;
    uint64_t stale_here = 0;
    for (size_t k = cursor; k < responses.size() && responses[k].received_ns < window_end; ++k) {
      const Response& r = responses[k];
      if (r.pool == flip.target) {
        if (!found) first_new_ms.push_back(static_cast<double>(r.received_ns - flip.t0) / 1e6);
        found = true;
      } else if (r.pool >= 0) {
        last_old_send = std::max(last_old_send, r.sent_ns);
        if (r.sent_ns >= flip.t1) ++stale_here;
      }
    }
    if (!found) ++missing_new;
    converged_ms.push_back(
        last_old_send > flip.t0 ? static_cast<double>(last_old_send - flip.t0) / 1e6 : 0.0);
    stale += stale_here;
    if (stale_here > 0) ++flips_with_stale;
  }
  uint64_t failed = 0;
  std::string errors_json;
  for (int k = 0; k < kErrorKinds; ++k) {
    failed += load.errors(k);
    errors_json += std::string(k > 0 ? ", " : "") + "\"" + kErrorNames[k] +
                   "\": " + std::to_string(load.errors(k));
  }
  const double seconds = static_cast<double>(measure_end - measure_start) / 1e9;
  std::printf(
      "{\"label\": \"%s\", \"flips\": %zu, \"switch_errors\": %llu, \"first_switch_error\": "
      "\"%s\", "
      "\"requests\": %llu, \"rps\": %.0f, \"failed\": %llu, \"errors\": {%s}, \"retried\": %llu, "
      "\"reconnects\": %llu, \"unknown_backend\": %llu, \"stale_after_ack\": %llu, "
      "\"flips_with_stale\": %llu, \"missing_new\": %llu, \"switch_ms\": %s, "
      "\"first_new_ms\": %s, \"converged_ms\": %s}\n",
      options.label.c_str(), flips.size(), static_cast<unsigned long long>(switch_errors),
      replaceAll(replaceAll(first_error, "\\", "\\\\"), "\"", "'").c_str(),
      static_cast<unsigned long long>(measured), static_cast<double>(measured) / seconds,
      static_cast<unsigned long long>(failed), errors_json.c_str(),
      static_cast<unsigned long long>(load.retried()),
      static_cast<unsigned long long>(load.reconnects()), static_cast<unsigned long long>(unknown),
      static_cast<unsigned long long>(stale), static_cast<unsigned long long>(flips_with_stale),
      static_cast<unsigned long long>(missing_new), stats(switch_ms).c_str(),
      stats(first_new_ms).c_str(), stats(converged_ms).c_str());
  return 0;
}
