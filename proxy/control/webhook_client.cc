#include "proxy/control/webhook_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/net_address.h"
#include "health/probe.h"
#include "routing/config/model.h"

namespace sy::proxy::control {

struct WebhookClient::Call {
  WebhookSpec hook;
  std::string request;
  Done done;
  core::NetAddress address;
  WebhookOutcome outcome;
  std::shared_ptr<health::Probe> probe;  // the attempt under way
  uv_getaddrinfo_t* lookup = nullptr;    // the name lookup under way
};

namespace {

struct Lookup {
  WebhookClient* client;
  uint64_t id;
};

}  // namespace

WebhookClient::WebhookClient() = default;
WebhookClient::~WebhookClient() { close(); }

void WebhookClient::start(uv_loop_t* loop) {
  loop_ = loop;
  timeouts_.init(loop);
}

void WebhookClient::close() {
  if (closed_ || loop_ == nullptr) return;
  closed_ = true;
  for (auto& [id, call] : calls_) {
    if (call->probe) call->probe->cancel();
    // The lookup's callback still runs (with UV_ECANCELED) and frees it.
    if (call->lookup != nullptr) uv_cancel(reinterpret_cast<uv_req_t*>(call->lookup));
  }
  calls_.clear();
  timeouts_.close();
}

std::string WebhookClient::buildRequest(const WebhookSpec& hook, const std::string& body) {
  const std::string host =
      hook.host.find(':') != std::string::npos ? absl::StrCat("[", hook.host, "]") : hook.host;
  return absl::StrCat("POST ", hook.target, " HTTP/1.1\r\nHost: ", host,
                      hook.port == 80 ? "" : absl::StrCat(":", hook.port),
                      "\r\nUser-Agent: switchyard-rollout\r\nContent-Type: application/json\r\n"
                      "Content-Length: ",
                      body.size(), "\r\nConnection: close\r\n\r\n", body);
}

void WebhookClient::post(const WebhookSpec& hook, const nlohmann::json& body, Done done) {
  if (closed_ || loop_ == nullptr) return;
  const uint64_t id = next_id_++;
  auto call = std::make_unique<Call>();
  call->hook = hook;
  call->request = buildRequest(hook, body.dump());
  call->done = std::move(done);
  calls_[id] = std::move(call);
  resolve(id);
}

void WebhookClient::resolve(uint64_t id) {
  Call& call = *calls_[id];
  // An IP literal needs no lookup; a name is looked up for each call, off the loop thread.
  absl::StatusOr<core::NetAddress> literal = core::NetAddress::parse(
      absl::StrCat(call.hook.host.find(':') != std::string::npos ? "[" + call.hook.host + "]"
                                                                 : call.hook.host,
                   ":", call.hook.port),
      /*resolve_names=*/false);
  if (literal.ok()) {
    call.address = *literal;
    attempt(id);
    return;
  }
  call.lookup = new uv_getaddrinfo_t;
  call.lookup->data = new Lookup{this, id};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const int rc = uv_getaddrinfo(
      loop_, call.lookup,
      [](uv_getaddrinfo_t* request, int status, addrinfo* result) {
        std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(request->data));
        delete request;
        WebhookClient& client = *lookup->client;
        auto it = client.calls_.find(lookup->id);
        if (status != 0 || result == nullptr || client.closed_ || it == client.calls_.end()) {
          if (result != nullptr) uv_freeaddrinfo(result);
          if (client.closed_ || it == client.calls_.end()) return;
          it->second->lookup = nullptr;
          it->second->outcome.attempts = 1;
          it->second->outcome.error =
              absl::StrCat("cannot resolve \"", it->second->hook.host, "\": ", uv_strerror(status));
          client.finish(lookup->id);
          return;
        }
        Call& found = *it->second;
        found.lookup = nullptr;
        found.address = core::NetAddress::fromSockaddr(result->ai_addr);
        found.address.setPort(found.hook.port);
        uv_freeaddrinfo(result);
        client.attempt(lookup->id);
      },
      call.hook.host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete static_cast<Lookup*>(call.lookup->data);
    delete call.lookup;
    call.lookup = nullptr;
    call.outcome.attempts = 1;
    call.outcome.error = absl::StrCat("cannot resolve \"", call.hook.host, "\": ", uv_strerror(rc));
    finish(id);
  }
}

void WebhookClient::attempt(uint64_t id) {
  Call& call = *calls_[id];
  const uint32_t number = ++call.outcome.attempts;
  routing::config::HealthCheckConfig check;
  check.type = routing::config::HealthCheckConfig::Type::kHttp;
  check.method = "POST";
  check.statuses = {{200, 299}};
  check.timeout = absl::Milliseconds(static_cast<int64_t>(call.hook.timeout_ms));
  std::shared_ptr<health::Probe> probe = health::Probe::send(
      loop_, timeouts_, call.address, check, call.request,
      [this, id](const health::ProbeResult& result) {
        auto it = calls_.find(id);
        if (it == calls_.end()) return;
        Call& done = *it->second;
        done.outcome.ok = result.passed;
        done.outcome.status = result.status;
        done.outcome.error = result.error;
        if (!result.passed && done.outcome.attempts <= done.hook.retries && !closed_) {
          attempt(id);
          return;
        }
        finish(id);
      });
  // A connect that fails at once has run the callback already (a retry, or the end).
  auto it = calls_.find(id);
  if (it != calls_.end() && it->second->outcome.attempts == number) {
    it->second->probe = std::move(probe);
  }
}

void WebhookClient::finish(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls_.erase(it);
  if (call->done) call->done(call->outcome);
}

}  // namespace sy::proxy::control
