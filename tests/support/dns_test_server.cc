#include "tests/support/dns_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace sy::testing {
namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeSrv = 33;
constexpr size_t kHeaderSize = 12;

void put16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void put32(std::string& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value & 0xffff));
}

// A name as labels, uncompressed.
void putName(std::string& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - start));
    out.append(name, start, dot - start);
    start = dot + 1;
  }
  out.push_back(0);
}

uint16_t get16(const std::string& in, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(in[at]) << 8) |
                               static_cast<uint8_t>(in[at + 1]));
}

}  // namespace

DnsTestServer::DnsTestServer() {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("DnsTestServer: socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("DnsTestServer: bind");
  }
  socklen_t length = sizeof address;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

DnsTestServer::~DnsTestServer() {
  stop_.store(true);
  thread_.join();
  close(fd_);
}

std::string DnsTestServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void DnsTestServer::setAddresses(const std::string& name, std::vector<std::string> ipv4,
                                 uint32_t ttl_seconds) {
  std::lock_guard lock(mutex_);
  records_[name] = Records{.ipv4 = std::move(ipv4), .srv = {}, .ttl = ttl_seconds};
}

void DnsTestServer::setSrv(const std::string& name, std::vector<SrvTarget> targets,
                           uint32_t ttl_seconds) {
  std::lock_guard lock(mutex_);
  Records records;
  records.srv = std::move(targets);
  records.ttl = ttl_seconds;
  records_[name] = std::move(records);
}

size_t DnsTestServer::queries(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = queries_.find(name);
  return it == queries_.end() ? 0 : it->second;
}

void DnsTestServer::run() {
  char buffer[1500];
  while (!stop_.load()) {
    pollfd waiting{fd_, POLLIN, 0};
    if (poll(&waiting, 1, 50) <= 0) continue;
    sockaddr_in peer{};
    socklen_t peer_length = sizeof peer;
    const ssize_t n =
        recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (n <= 0 || silent_.load()) continue;
    const std::string reply = answer(std::string(buffer, static_cast<size_t>(n)));
    if (reply.empty()) continue;
    sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_length);
  }
}

std::string DnsTestServer::answer(const std::string& query) {
  if (query.size() < kHeaderSize + 5) return "";
  // The question: labels up to the root, then type and class.
  std::string name;
  size_t at = kHeaderSize;
  while (at < query.size() && query[at] != 0) {
    const size_t length = static_cast<uint8_t>(query[at]);
    if ((length & 0xc0) != 0 || at + 1 + length > query.size()) return "";
    if (!name.empty()) name.push_back('.');
    for (size_t i = 0; i < length; ++i) {
      name.push_back(
          static_cast<char>(std::tolower(static_cast<unsigned char>(query[at + 1 + i]))));
    }
    at += 1 + length;
  }
  if (at + 5 > query.size()) return "";
  const uint16_t type = get16(query, at + 1);
  const size_t question_end = at + 5;
  std::vector<std::string> ipv4;
  std::vector<SrvTarget> srv;
  uint32_t ttl = 1;
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(name);
    if (it != records_.end()) {
      known = true;
      ttl = it->second.ttl;
      if (type == kTypeA) ipv4 = it->second.ipv4;
      if (type == kTypeSrv) srv = it->second.srv;
      if (!ipv4.empty() || !srv.empty()) ++queries_[name];
    }
  }
  std::string reply;
  reply.append(query, 0, 2);                                           // id
  const uint16_t rd = get16(query, 2) & 0x0100;                        // recursion desired, echoed
  put16(reply, static_cast<uint16_t>(0x8400 | rd | (known ? 0 : 3)));  // QR AA, NXDOMAIN
  put16(reply, 1);                                                     // one question
  put16(reply, static_cast<uint16_t>(ipv4.size() + srv.size()));
  put16(reply, 0);
  put16(reply, 0);
  reply.append(query, kHeaderSize, question_end - kHeaderSize);
  for (const std::string& text : ipv4) {
    in_addr address{};
    if (inet_pton(AF_INET, text.c_str(), &address) != 1) continue;
    put16(reply, 0xc00c);  // the question's name
    put16(reply, kTypeA);
    put16(reply, 1);  // IN
    put32(reply, ttl);
    put16(reply, 4);
    reply.append(reinterpret_cast<const char*>(&address), 4);
  }
  for (const SrvTarget& target : srv) {
    std::string data;
    put16(data, target.priority);
    put16(data, target.weight);
    put16(data, target.port);
    putName(data, target.target);
    put16(reply, 0xc00c);
    put16(reply, kTypeSrv);
    put16(reply, 1);
    put32(reply, ttl);
    put16(reply, static_cast<uint16_t>(data.size()));
    reply.append(data);
  }
  return reply;
}

}  // namespace sy::testing
