#pragma once

// Asynchronous DNS lookups on a libuv loop, with c-ares (which, unlike getaddrinfo, gives each
// record's TTL and can ask a given name server): c-ares says which sockets to watch, uv_poll
// watches them and a uv timer runs its retransmissions. For the pools that follow DNS
// (`resolve = true`); the control thread is the only user.

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/net_address.h"

struct ares_addrinfo;  // <ares.h>, kept out of this header

namespace sy::upstream {

class DnsResolver {
 public:
  struct Answer {
    std::vector<core::NetAddress> addresses;  // the port is the one asked for; sorted
    absl::Duration ttl;                       // the smallest TTL of the records
    // SRV answers only: each address's weight, by address text ("127.0.0.1:8080").
    std::map<std::string, uint32_t> weights;
  };
  using Done = std::function<void(absl::StatusOr<Answer>)>;
  // One lookup: the A and AAAA records of `name`, every address with `port`; or with `srv`, the
  // SRV record `name` ("_http._tcp.api.internal"), which gives ports and weights.
  struct Question {
    std::string name;
    uint16_t port = 0;
    bool srv = false;
  };
  // An SRV weight as a backend weight: 0 (RFC 2782: "no weight") is the smallest backend weight,
  // 1, and the largest backend weight, 1000, caps the rest.
  static uint32_t backendWeight(uint16_t srv_weight);

  // `servers`: "IP:port" each; empty: the system's (/etc/resolv.conf).
  static absl::StatusOr<std::unique_ptr<DnsResolver>> create(
      uv_loop_t* loop, const std::vector<std::string>& servers);
  // Pending lookups end without their callback; the handles close on the loop's next turn.
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A and AAAA records of `host`, every address with `port`. NotFound when the name has no
  // address, Unavailable when no server answered.
  void resolve(const std::string& host, uint16_t port, Done done);
  // The SRV record `name`: the targets of its lowest priority (RFC 2782 clients use the others
  // only when those all fail; a pool's health checks and balancer play that part here), each
  // resolved as resolve() does, with the record's port; every address weighs the record's weight
  // (backendWeight; an address two targets share, their sum). The TTL is the smallest of the SRV
  // and address records. A target without addresses adds none; NotFound when no target has any,
  // Unavailable when a lookup found no server.
  void resolveSrv(const std::string& name, Done done);
  void lookUp(const Question& question, Done done);

  // Looks up every question on a loop of its own and returns when all have answered (the start
  // and a reload, before the configuration is in force).
  static std::vector<absl::StatusOr<Answer>> resolveAll(const std::vector<Question>& questions,
                                                        const std::vector<std::string>& servers);

 private:
  struct Channel;
  struct SocketWatch;
  struct Lookup;
  struct SrvLookup;

  explicit DnsResolver(uv_loop_t* loop);
  static void onSocketState(void* data, int fd, int readable, int writable);
  static void onPoll(uv_poll_t* handle, int status, int events);
  static void onTimer(uv_timer_t* timer);
  static void onAddrInfo(void* arg, int status, int timeouts, ::ares_addrinfo* result);
  static void onSrv(void* arg, int status, int timeouts, unsigned char* reply, int length);
  // Runs c-ares's timeouts when the next one is due.
  void armTimer();

  uv_loop_t* loop_;
  std::unique_ptr<Channel> channel_;
  uv_timer_t* timer_;  // heap: closed asynchronously after this object is gone
  std::map<int, SocketWatch*> watches_;
};

}  // namespace sy::upstream
