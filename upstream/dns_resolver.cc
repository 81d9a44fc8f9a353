#include "upstream/dns_resolver.h"

#include <ares.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sy::upstream {

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
    const std::string message = ares_strerror(status);
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
      return lookup->done(absl::NotFoundError(message));
    }
    return lookup->done(absl::UnavailableError(message));
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
  std::sort(answer.addresses.begin(), answer.addresses.end(),
            [](const core::NetAddress& a, const core::NetAddress& b) {
              return a.toString() < b.toString();
            });
  answer.ttl = absl::Seconds(ttl);
  lookup->done(std::move(answer));
}

std::vector<absl::StatusOr<DnsResolver::Answer>> DnsResolver::resolveAll(
    const std::vector<std::pair<std::string, uint16_t>>& names,
    const std::vector<std::string>& servers) {
  std::vector<absl::StatusOr<Answer>> answers(names.size(), absl::UnavailableError("not resolved"));
  if (names.empty()) return answers;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    auto resolver = create(&loop, servers);
    if (!resolver.ok()) {
      for (auto& answer : answers) answer = resolver.status();
    } else {
      size_t remaining = names.size();
      for (size_t i = 0; i < names.size(); ++i) {
        (*resolver)->resolve(names[i].first, names[i].second,
                             [&answers, &remaining, i](absl::StatusOr<Answer> answer) {
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
