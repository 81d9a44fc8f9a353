#include "upstream/dns_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sy::upstream {
namespace {

// The largest weight a backend may have (`weight` in the pool schema).
constexpr uint32_t kMaxBackendWeight = 1000;

void sortAddresses(std::vector<core::NetAddress>& addresses) {
  std::sort(addresses.begin(), addresses.end(),
            [](const core::NetAddress& a, const core::NetAddress& b) {
              return a.toString() < b.toString();
            });
}

absl::Status lookupError(int status) {
  const std::string message = ares_strerror(status);
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

// The smallest TTL of the SRV records in the answer section of `reply` (ares_parse_srv_reply
// does not give TTLs); 0 when there is none to read, which the caller's minimum interval clamps.
int srvRecordsTtl(const unsigned char* reply, int length) {
  constexpr int kHeaderSize = 12;
  if (length < kHeaderSize) return 0;
  const int questions = (reply[4] << 8) | reply[5];
  const int answers = (reply[6] << 8) | reply[7];
  const unsigned char* at = reply + kHeaderSize;
  const unsigned char* const end = reply + length;
  auto skipName = [&]() {
    char* name = nullptr;
    long encoded = 0;
    if (ares_expand_name(at, reply, length, &name, &encoded) != ARES_SUCCESS) return false;
    ares_free_string(name);
    at += encoded;
    return true;
  };
  for (int i = 0; i < questions; ++i) {
    if (!skipName() || end - at < 4) return 0;
    at += 4;  // type, class
  }
  int ttl = std::numeric_limits<int>::max();
  for (int i = 0; i < answers; ++i) {
    if (!skipName() || end - at < 10) break;
    const int type = (at[0] << 8) | at[1];
    const uint32_t record_ttl = (static_cast<uint32_t>(at[4]) << 24) |
                                (static_cast<uint32_t>(at[5]) << 16) |
                                (static_cast<uint32_t>(at[6]) << 8) | at[7];
    const int data_length = (at[8] << 8) | at[9];
    if (type == ns_t_srv) {
      ttl = std::min(ttl, static_cast<int>(std::min<uint32_t>(record_ttl, 0x7fffffff)));
    }
    at += 10;
    if (end - at < data_length) break;
    at += data_length;
  }
  return ttl == std::numeric_limits<int>::max() ? 0 : ttl;
}

}  // namespace

struct DnsResolver::Channel {
  ares_channel channel = nullptr;
  ~Channel() {
    if (channel != nullptr) ares_destroy(channel);
  }
};

struct DnsResolver::SocketWatch {
  uv_poll_t poll{};
  DnsResolver* owner = nullptr;
  ares_socket_t fd = ARES_SOCKET_BAD;
};

struct DnsResolver::Lookup {
  DnsResolver* owner;
  uint16_t port;
  Done done;
};

struct DnsResolver::SrvLookup {
  DnsResolver* owner;
  Done done;
};

uint32_t DnsResolver::backendWeight(uint16_t srv_weight) {
  return std::clamp<uint32_t>(srv_weight, 1, kMaxBackendWeight);
}

DnsResolver::DnsResolver(uv_loop_t* loop) : loop_(loop), channel_(std::make_unique<Channel>()) {
  timer_ = new uv_timer_t{};
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

absl::StatusOr<std::unique_ptr<DnsResolver>> DnsResolver::create(
    uv_loop_t* loop, const std::vector<std::string>& servers) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(library)));
  }
  std::unique_ptr<DnsResolver> resolver(new DnsResolver(loop));
  ares_options options{};
  options.sock_state_cb = [](void* data, ares_socket_t fd, int readable, int writable) {
    onSocketState(data, fd, readable, writable);
  };
  options.sock_state_cb_data = resolver.get();
  options.timeout = 1000;  // ms per try: a name server that does not answer is a failure soon
  options.tries = 2;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int rc = ares_init_options(&resolver->channel_->channel, &options, mask);
      rc != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(rc)));
  }
  if (!servers.empty()) {
    const std::string csv = absl::StrJoin(servers, ",");
    if (int rc = ares_set_servers_ports_csv(resolver->channel_->channel, csv.c_str());
        rc != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("dns_servers \"", csv, "\": ", ares_strerror(rc)));
    }
  }
  return resolver;
}

DnsResolver::~DnsResolver() {
  // Ends the lookups (their callbacks see ARES_EDESTRUCTION and drop their Done) and closes the
  // sockets, which stops and forgets their watches through onSocketState.
  channel_.reset();
  for (auto& [fd, watch] : watches_) {
    uv_poll_stop(&watch->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
             [](uv_handle_t* handle) { delete static_cast<SocketWatch*>(handle->data); });
  }
  uv_timer_stop(timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
}

void DnsResolver::onSocketState(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<DnsResolver*>(data);
  auto it = self->watches_.find(fd);
  if (readable == 0 && writable == 0) {
    if (it == self->watches_.end()) return;
    SocketWatch* watch = it->second;
    self->watches_.erase(it);
    uv_poll_stop(&watch->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
             [](uv_handle_t* handle) { delete static_cast<SocketWatch*>(handle->data); });
    return;
  }
  SocketWatch* watch = nullptr;
  if (it == self->watches_.end()) {
    watch = new SocketWatch{};
    watch->owner = self;
    watch->fd = fd;
    if (uv_poll_init_socket(self->loop_, &watch->poll, fd) != 0) {
      delete watch;
      return;  // the lookup times out and says so
    }
    watch->poll.data = watch;
    self->watches_[fd] = watch;
  } else {
    watch = it->second;
  }
  uv_poll_start(&watch->poll, (readable != 0 ? UV_READABLE : 0) | (writable != 0 ? UV_WRITABLE : 0),
                onPoll);
}

void DnsResolver::onPoll(uv_poll_t* handle, int status, int events) {
  auto* watch = static_cast<SocketWatch*>(handle->data);
  DnsResolver* owner = watch->owner;
  // An error on the socket: let c-ares read it and find out.
  const bool readable = status < 0 || (events & UV_READABLE) != 0;
  const bool writable = status < 0 || (events & UV_WRITABLE) != 0;
  ares_process_fd(owner->channel_->channel, readable ? watch->fd : ARES_SOCKET_BAD,
                  writable ? watch->fd : ARES_SOCKET_BAD);
  owner->armTimer();
}

void DnsResolver::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<DnsResolver*>(timer->data);
  ares_process_fd(self->channel_->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->armTimer();
}

void DnsResolver::armTimer() {
  if (channel_ == nullptr || channel_->channel == nullptr) return;
  timeval next{};
  if (ares_timeout(channel_->channel, nullptr, &next) == nullptr) {
    uv_timer_stop(timer_);
    return;
  }
  const uint64_t ms =
      static_cast<uint64_t>(next.tv_sec) * 1000 + static_cast<uint64_t>(next.tv_usec + 999) / 1000;
  uv_timer_start(timer_, onTimer, ms, 0);
}

void DnsResolver::resolve(const std::string& host, uint16_t port, Done done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  auto* lookup = new Lookup{this, port, std::move(done)};
  ares_getaddrinfo(channel_->channel, host.c_str(), nullptr, &hints, onAddrInfo, lookup);
  armTimer();
}

void DnsResolver::onAddrInfo(void* arg, int status, int, ares_addrinfo* result) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
    if (result != nullptr) ares_freeaddrinfo(result);
    return;  // the resolver is going away
  }
  if (status != ARES_SUCCESS) {
    if (result != nullptr) ares_freeaddrinfo(result);
    return lookup->done(lookupError(status));
  }
  Answer answer;
  int ttl = std::numeric_limits<int>::max();
  for (ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
    if (node->ai_family != AF_INET && node->ai_family != AF_INET6) continue;
    core::NetAddress address = core::NetAddress::fromSockaddr(node->ai_addr);
    address.setPort(lookup->port);
    if (std::find(answer.addresses.begin(), answer.addresses.end(), address) !=
        answer.addresses.end()) {
      continue;
    }
    answer.addresses.push_back(address);
    ttl = std::min(ttl, std::max(node->ai_ttl, 0));
  }
  ares_freeaddrinfo(result);
  if (answer.addresses.empty()) return lookup->done(absl::NotFoundError("no address"));
  sortAddresses(answer.addresses);
  answer.ttl = absl::Seconds(ttl);
  lookup->done(std::move(answer));
}

void DnsResolver::resolveSrv(const std::string& name, Done done) {
  auto* lookup = new SrvLookup{this, std::move(done)};
  ares_search(channel_->channel, name.c_str(), ns_c_in, ns_t_srv, onSrv, lookup);
  armTimer();
}

void DnsResolver::lookUp(const Question& question, Done done) {
  if (question.srv) return resolveSrv(question.name, std::move(done));
  resolve(question.name, question.port, std::move(done));
}

void DnsResolver::onSrv(void* arg, int status, int, unsigned char* reply, int length) {
  std::unique_ptr<SrvLookup> lookup(static_cast<SrvLookup*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  if (status != ARES_SUCCESS) return lookup->done(lookupError(status));
  ares_srv_reply* records = nullptr;
  if (int rc = ares_parse_srv_reply(reply, length, &records); rc != ARES_SUCCESS) {
    return lookup->done(lookupError(rc));
  }
  struct Target {
    std::string host;
    uint16_t port;
    uint16_t weight;
  };
  std::vector<Target> targets;
  uint16_t lowest = std::numeric_limits<uint16_t>::max();
  for (ares_srv_reply* record = records; record != nullptr; record = record->next) {
    const std::string host = record->host != nullptr ? record->host : "";
    // "." says the service is decidedly not available at this domain (RFC 2782).
    if (host.empty() || host == ".") continue;
    if (record->priority < lowest) {
      lowest = record->priority;
      targets.clear();
    }
    if (record->priority == lowest) targets.push_back({host, record->port, record->weight});
  }
  ares_free_data(records);
  if (targets.empty()) return lookup->done(absl::NotFoundError("no SRV target"));

  // The targets' lookups answer one by one; the last one to answer gives the whole answer.
  struct Gathered {
    Done done;
    size_t remaining;
    Answer answer;
    absl::Status failure;
  };
  auto gathered = std::make_shared<Gathered>();
  gathered->done = std::move(lookup->done);
  gathered->remaining = targets.size();
  gathered->answer.ttl = absl::Seconds(srvRecordsTtl(reply, length));
  DnsResolver* owner = lookup->owner;
  for (const Target& target : targets) {
    owner->resolve(target.host, target.port,
                   [gathered, weight = backendWeight(target.weight)](absl::StatusOr<Answer> one) {
                     Answer& all = gathered->answer;
                     if (one.ok()) {
                       all.ttl = std::min(all.ttl, one->ttl);
                       for (const core::NetAddress& address : one->addresses) {
                         uint32_t& sum = all.weights[address.toString()];
                         if (sum == 0) all.addresses.push_back(address);
                         sum = std::min(sum + weight, kMaxBackendWeight);
                       }
                     } else if (!absl::IsNotFound(one.status())) {
                       gathered->failure = one.status();
                     }
                     if (--gathered->remaining > 0) return;
                     if (!gathered->failure.ok()) return gathered->done(gathered->failure);
                     if (all.addresses.empty()) {
                       return gathered->done(absl::NotFoundError("no SRV target has an address"));
                     }
                     sortAddresses(all.addresses);
                     gathered->done(std::move(all));
                   });
  }
}

std::vector<absl::StatusOr<DnsResolver::Answer>> DnsResolver::resolveAll(
    const std::vector<Question>& questions, const std::vector<std::string>& servers) {
  std::vector<absl::StatusOr<Answer>> answers(questions.size(),
                                              absl::UnavailableError("not resolved"));
  if (questions.empty()) return answers;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    auto resolver = create(&loop, servers);
    if (!resolver.ok()) {
      for (auto& answer : answers) answer = resolver.status();
    } else {
      size_t remaining = questions.size();
      for (size_t i = 0; i < questions.size(); ++i) {
        (*resolver)->lookUp(questions[i], [&answers, &remaining, i](absl::StatusOr<Answer> answer) {
          answers[i] = std::move(answer);
          --remaining;
        });
      }
      // Until every lookup has answered or timed out (c-ares's own timeouts bound it).
      while (remaining > 0 && uv_run(&loop, UV_RUN_ONCE) != 0) {
      }
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // the handles' closes
  uv_loop_close(&loop);
  return answers;
}

}  // namespace sy::upstream
