#pragma once

// An authoritative DNS server for the tests of the pools that follow DNS: a UDP socket on
// 127.0.0.1 served by a thread of the test. It answers A queries for the names it was given
// with their IPv4 addresses and a TTL, SRV queries for the SRV names it was given with their
// targets (whose addresses are asked for separately, as c-ares does), other types of a known
// name with no record (NOERROR), other names with NXDOMAIN, and nothing at all while silent.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sy::testing {

class DnsTestServer {
 public:
  DnsTestServer();
  ~DnsTestServer();
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", for [server] dns_servers.
  std::string address() const;
  // The A records of `name` from now on ("127.0.0.2", ...), with `ttl_seconds`.
  void setAddresses(const std::string& name, std::vector<std::string> ipv4, uint32_t ttl_seconds);
  struct SrvTarget {
    std::string target;  // a name given to setAddresses
    uint16_t port = 0;
    uint16_t weight = 1;
    uint16_t priority = 10;
  };
  // The SRV records of `name` ("_http._tcp.app.switchyard.test") from now on.
  void setSrv(const std::string& name, std::vector<SrvTarget> targets, uint32_t ttl_seconds);
  // While silent, queries get no answer (a name server that is down).
  void setSilent(bool silent) { silent_.store(silent); }
  // A (or, for an SRV name, SRV) queries answered so far for `name`.
  size_t queries(const std::string& name) const;

 private:
  struct Records {
    std::vector<std::string> ipv4;
    std::vector<SrvTarget> srv;
    uint32_t ttl = 1;
  };

  void run();
  // The answer to one query, or "" for none.
  std::string answer(const std::string& query);

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> silent_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Records> records_;
  std::map<std::string, size_t> queries_;
  std::thread thread_;
};

}  // namespace sy::testing
