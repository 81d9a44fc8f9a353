#include "proxy/control/etcd_client.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sy::proxy::control {

struct EtcdClient::Request {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;  // server_name: its host:port to the URL's address
  std::string path;
  std::string body;      // the request body (curl reads it from here)
  std::string received;  // the answer, or a stream's bytes not yet split into messages
  bool streaming = false;
  bool authentication = false;  // POST /v3/auth/authenticate: sent without a token
  bool retried = false;         // sent again once with a new token already
  size_t endpoint = 0;          // index of the endpoint it went to
  std::string token;            // the token it carried
  Done done;
  OnMessage on_message;
  OnEnd on_end;
  bool finished = false;
  CURLcode result = CURLE_OK;
  char error[CURL_ERROR_SIZE] = {};
};

// One of curl's sockets, watched by libuv.
struct EtcdClient::Socket {
  uv_poll_t poll{};
  EtcdClient* client = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;
};

struct EtcdClient::Outcome {
  CURLcode result = CURLE_OK;
  long status = 0;
  absl::StatusOr<nlohmann::json> answer;
};

namespace {

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CURLM* multiOf(void* multi) { return static_cast<CURLM*>(multi); }

absl::StatusOr<nlohmann::json> parseAnswer(CURLcode result, long status, const std::string& body,
                                           const char* error_buffer) {
  if (result != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(
        "etcd unreachable: ", error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result)));
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status < 200 || status > 299) {
    std::string message = parsed.is_object() ? parsed.value("message", parsed.value("error", ""))
                                             : std::string(body.substr(0, 200));
    return absl::FailedPreconditionError(absl::StrCat("etcd answered ", status, ": ", message));
  }
  if (parsed.is_discarded()) return absl::InternalError("etcd answered something not JSON");
  return parsed;
}

// A member that cannot serve now (no leader, shutting down) or a proxy in front of it: another
// member may.
bool memberUnavailable(CURLcode result, long status) {
  return result != CURLE_OK || status == 502 || status == 503 || status == 504;
}

// etcd's answer to a token it does not know (a restarted member, another member's simple
// token, an expired one): 401 "etcdserver: invalid auth token".
bool tokenRejected(long status) { return status == 401; }

// A watch created with a token the member rejects is cancelled rather than refused.
bool watchRejectedToken(const nlohmann::json& message) {
  const nlohmann::json* result = message.contains("result") ? &message["result"] : nullptr;
  if (result == nullptr || !result->is_object() || !result->value("canceled", false)) return false;
  const std::string reason = result->value("cancel_reason", "");
  return absl::StrContains(reason, "auth token") || absl::StrContains(reason, "permission denied");
}

}  // namespace

EtcdClient::EtcdClient(Options options) : options_(std::move(options)) { globalInit(); }

EtcdClient::EtcdClient(std::vector<std::string> endpoints, absl::Duration timeout)
    : EtcdClient([&] {
        Options options;
        options.endpoints = std::move(endpoints);
        options.timeout = timeout;
        return options;
      }()) {}

EtcdClient::~EtcdClient() { close(); }

std::string EtcdClient::base64(const std::string& text) { return absl::Base64Escape(text); }

std::string EtcdClient::unbase64(const std::string& text) {
  std::string out;
  if (!absl::Base64Unescape(text, &out)) return "";
  return out;
}

void EtcdClient::start(uv_loop_t* loop) {
  loop_ = loop;
  timer_.init(loop_, uv_timer_init);
  timer_.get()->data = this;
  multi_ = curl_multi_init();
  curl_multi_setopt(multiOf(multi_), CURLMOPT_SOCKETFUNCTION, &EtcdClient::onSocket);
  curl_multi_setopt(multiOf(multi_), CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multiOf(multi_), CURLMOPT_TIMERFUNCTION, &EtcdClient::onTimer);
  curl_multi_setopt(multiOf(multi_), CURLMOPT_TIMERDATA, this);
}

void EtcdClient::close() {
  if (multi_ == nullptr) return;
  for (auto& [id, request] : requests_) freeEasy(*request);
  requests_.clear();
  authenticating_ = false;
  curl_multi_cleanup(multiOf(multi_));
  multi_ = nullptr;
  timer_.reset();
}

size_t EtcdClient::onData(char* data, size_t size, size_t count, void* request) {
  static_cast<Request*>(request)->received.append(data, size * count);
  return size * count;
}

void EtcdClient::newEasy(Request& request) {
  CURL* easy = curl_easy_init();
  request.endpoint = current_;
  request.token = request.authentication ? "" : token_;
  request.received.clear();
  request.error[0] = '\0';
  request.headers = curl_slist_append(nullptr, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip before a larger body.
  request.headers = curl_slist_append(request.headers, "Expect:");
  if (!request.token.empty()) {
    request.headers =
        curl_slist_append(request.headers, absl::StrCat("Authorization: ", request.token).c_str());
  }
  const std::string& base = endpoint();
  std::string url = absl::StrCat(base, request.path);
  if (!options_.server_name.empty() && absl::StartsWith(base, "https://")) {
    // Verify (and send SNI for) server_name while connecting to the URL's address.
    const std::string host_port = base.substr(8);
    const std::string port = host_port.substr(host_port.rfind(':') + 1);
    url = absl::StrCat("https://", options_.server_name, ":", port, request.path);
    request.connect_to = curl_slist_append(
        nullptr, absl::StrCat(options_.server_name, ":", port, ":", host_port).c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, request.connect_to);
  }
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request.headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &EtcdClient::onData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &request);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &request);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, request.error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, options_.cert_file.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, options_.key_file.c_str());
  }
  const long timeout_ms = static_cast<long>(absl::ToInt64Milliseconds(options_.timeout));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // A watch stays open for as long as etcd does; the lease keepalive notices a silent etcd.
  if (!request.streaming) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  // Idle keep-alive connections to etcd are reused between requests.
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  request.easy = easy;
}

void EtcdClient::freeEasy(Request& request) {
  if (request.easy != nullptr) {
    // Closes its socket (onSocket) when the multi still holds it.
    if (multi_ != nullptr) curl_multi_remove_handle(multiOf(multi_), request.easy);
    curl_easy_cleanup(request.easy);
    request.easy = nullptr;
  }
  curl_slist_free_all(request.headers);
  request.headers = nullptr;
  curl_slist_free_all(request.connect_to);
  request.connect_to = nullptr;
}

uint64_t EtcdClient::add(std::unique_ptr<Request> request) {
  if (multi_ == nullptr) return 0;
  request->id = next_id_++;
  const uint64_t id = request->id;
  Request& added = *request;
  requests_[id] = std::move(request);
  launch(added);
  return id;
}

void EtcdClient::launch(Request& request) {
  request.finished = false;
  request.result = CURLE_OK;
  if (authEnabled() && !request.authentication && token_.empty()) {
    if (!authenticating_) authenticate();
    return;  // parked (no easy handle) until tokenArrived()
  }
  newEasy(request);
  curl_multi_add_handle(multiOf(multi_), request.easy);  // curl arms its timer: work starts there
}

void EtcdClient::authenticate() {
  authenticating_ = true;
  auto request = std::make_unique<Request>();
  request->authentication = true;
  request->path = "/v3/auth/authenticate";
  request->body =
      nlohmann::json{{"name", options_.username}, {"password", options_.password}}.dump();
  request->done = [this](absl::StatusOr<nlohmann::json> answer) { tokenArrived(answer); };
  add(std::move(request));
}

void EtcdClient::tokenArrived(const absl::StatusOr<nlohmann::json>& answer) {
  authenticating_ = false;
  absl::Status failure;
  if (!answer.ok()) {
    failure = absl::UnauthenticatedError(absl::StrCat(
        "etcd authentication as \"", options_.username, "\" failed: ", answer.status().message()));
  } else if (!answer->contains("token") || !(*answer)["token"].is_string() ||
             (*answer)["token"].get<std::string>().empty()) {
    failure = absl::UnauthenticatedError(absl::StrCat(
        "etcd authentication as \"", options_.username, "\" returned no token: ", answer->dump()));
  } else {
    token_ = (*answer)["token"].get<std::string>();
  }
  std::vector<uint64_t> parked;
  for (const auto& [id, request] : requests_) {
    if (request->easy == nullptr && !request->authentication) parked.push_back(id);
  }
  for (const uint64_t id : parked) {
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;  // cancelled by an earlier callback
    if (!failure.ok()) {
      fail(id, failure);
    } else if (it->second->easy == nullptr) {
      launch(*it->second);
    }
  }
}

void EtcdClient::fail(uint64_t id, const absl::Status& status) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  std::unique_ptr<Request> owned = std::move(it->second);
  requests_.erase(it);
  freeEasy(*owned);
  if (owned->streaming) {
    if (owned->on_end) owned->on_end(status);
  } else if (owned->done) {
    owned->done(status);
  }
}

uint64_t EtcdClient::call(const std::string& path, const nlohmann::json& body, Done done) {
  auto request = std::make_unique<Request>();
  request->path = path;
  request->body = body.dump();
  request->done = std::move(done);
  return add(std::move(request));
}

uint64_t EtcdClient::stream(const std::string& path, const nlohmann::json& body,
                            OnMessage on_message, OnEnd on_end) {
  auto request = std::make_unique<Request>();
  request->path = path;
  request->body = body.dump();
  request->streaming = true;
  request->on_message = std::move(on_message);
  request->on_end = std::move(on_end);
  return add(std::move(request));
}

void EtcdClient::cancel(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  std::unique_ptr<Request> request = std::move(it->second);
  requests_.erase(it);
  freeEasy(*request);
}

int EtcdClient::onSocket(void*, int fd, int what, void* client_pointer, void* socket_pointer) {
  auto* client = static_cast<EtcdClient*>(client_pointer);
  auto* socket = static_cast<Socket*>(socket_pointer);
  if (what == CURL_POLL_REMOVE) {
    if (socket != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll),
               [](uv_handle_t* handle) { delete static_cast<Socket*>(handle->data); });
      curl_multi_assign(multiOf(client->multi_), fd, nullptr);
    }
    return 0;
  }
  if (socket == nullptr) {
    socket = new Socket;
    socket->client = client;
    socket->fd = fd;
    uv_poll_init_socket(client->loop_, &socket->poll, fd);
    socket->poll.data = socket;
    curl_multi_assign(multiOf(client->multi_), fd, socket);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(&socket->poll, events, [](uv_poll_t* poll, int status, int ready) {
    auto* watched = static_cast<Socket*>(poll->data);
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (ready & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (ready & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    watched->client->socketAction(watched->fd, flags);
  });
  return 0;
}

int EtcdClient::onTimer(void*, long timeout_ms, void* client_pointer) {
  auto* client = static_cast<EtcdClient*>(client_pointer);
  if (timeout_ms < 0) {
    uv_timer_stop(client->timer_.get());
    return 0;
  }
  uv_timer_start(
      client->timer_.get(),
      [](uv_timer_t* timer) {
        static_cast<EtcdClient*>(timer->data)->socketAction(CURL_SOCKET_TIMEOUT, 0);
      },
      static_cast<uint64_t>(timeout_ms), 0);
  return 0;
}

void EtcdClient::socketAction(int fd, int events) {
  if (multi_ == nullptr) return;
  int running = 0;
  curl_multi_socket_action(multiOf(multi_), fd, events, &running);
  afterCurl();
}

void EtcdClient::afterCurl() {
  // Mark the finished ones first: the callbacks below may start or cancel requests.
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multiOf(multi_), &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    Request* request = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &request);
    if (request == nullptr) continue;
    request->finished = true;
    request->result = message->data.result;
  }
  std::vector<uint64_t> ids;
  for (const auto& [id, request] : requests_) ids.push_back(id);
  for (const uint64_t id : ids) {
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;  // cancelled by an earlier callback
    Request* request = it->second.get();
    if (request->easy == nullptr) continue;  // waiting for a token
    long status = 0;
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
    if (request->streaming && !tokenRejected(status)) {
      // One JSON message per line.
      size_t end;
      while (requests_.count(id) != 0 &&
             (end = request->received.find('\n')) != std::string::npos) {
        nlohmann::json message = nlohmann::json::parse(request->received.substr(0, end), nullptr,
                                                       /*allow_exceptions=*/false);
        request->received.erase(0, end + 1);
        if (message.is_discarded()) continue;
        // The stream ends below (the watcher reconnects); the next requests take a new token.
        if (watchRejectedToken(message) && token_ == request->token) token_.clear();
        if (request->on_message) request->on_message(message);
      }
      if (requests_.count(id) == 0 || !request->finished) continue;
    } else if (!request->finished) {
      continue;
    }
    if (memberUnavailable(request->result, status)) failedAt(request->endpoint);
    if (!request->authentication && !request->retried && request->result == CURLE_OK &&
        tokenRejected(status) && authEnabled()) {
      // Once more with a new token: the member restarted or it is not the one the token is from.
      if (token_ == request->token) token_.clear();
      request->retried = true;
      freeEasy(*request);
      launch(*request);
      continue;
    }
    std::unique_ptr<Request> owned = std::move(requests_[id]);
    requests_.erase(id);
    const CURLcode result = owned->result;
    std::string received = std::move(owned->received);
    const std::string error(owned->error);
    freeEasy(*owned);
    if (owned->streaming) {
      absl::StatusOr<nlohmann::json> end =
          parseAnswer(result, status == 0 ? 200 : status,
                      status >= 200 && status <= 299 ? "{}" : received, error.c_str());
      if (owned->on_end) owned->on_end(end.ok() ? absl::OkStatus() : end.status());
    } else if (owned->done) {
      owned->done(parseAnswer(result, status, received, error.c_str()));
    }
  }
}

void EtcdClient::failedAt(size_t index) {
  if (index != current_) return;  // another request moved on already
  if (options_.endpoints.size() > 1) {
    current_ = (current_ + 1) % options_.endpoints.size();
    token_.clear();  // a simple token is only known to the member that issued it
  }
}

EtcdClient::Outcome EtcdClient::performBlocking(const std::string& path, const std::string& body,
                                                bool with_token) {
  Request request;
  request.path = path;
  request.body = body;
  request.authentication = !with_token;
  newEasy(request);
  Outcome outcome;
  outcome.result = curl_easy_perform(request.easy);
  curl_easy_getinfo(request.easy, CURLINFO_RESPONSE_CODE, &outcome.status);
  const std::string error(request.error);
  freeEasy(request);
  outcome.answer = parseAnswer(outcome.result, outcome.status, request.received, error.c_str());
  return outcome;
}

absl::StatusOr<nlohmann::json> EtcdClient::callBlocking(const std::string& path,
                                                        const nlohmann::json& body) {
  absl::Status last = absl::UnavailableError("no etcd endpoint");
  const std::string text = body.dump();
  for (size_t attempt = 0; attempt < options_.endpoints.size(); ++attempt) {
    for (int round = 0; round < 2; ++round) {  // a second one with a new token
      if (authEnabled() && token_.empty()) {
        const size_t at = current_;
        Outcome auth = performBlocking(
            "/v3/auth/authenticate",
            nlohmann::json{{"name", options_.username}, {"password", options_.password}}.dump(),
            false);
        if (memberUnavailable(auth.result, auth.status)) {
          last = auth.answer.status();
          failedAt(at);
          break;
        }
        std::string token;
        if (auth.answer.ok() && auth.answer->contains("token") &&
            (*auth.answer)["token"].is_string()) {
          token = (*auth.answer)["token"].get<std::string>();
        }
        if (token.empty()) {
          return absl::UnauthenticatedError(absl::StrCat(
              "etcd authentication as \"", options_.username, "\" failed: ",
              auth.answer.ok() ? "no token in the answer" : auth.answer.status().message()));
        }
        token_ = token;
      }
      const size_t at = current_;
      const std::string used = token_;
      Outcome outcome = performBlocking(path, text, true);
      if (memberUnavailable(outcome.result, outcome.status)) {
        last = outcome.answer.status();
        failedAt(at);
        break;
      }
      if (authEnabled() && tokenRejected(outcome.status) && round == 0) {
        if (token_ == used) token_.clear();
        continue;
      }
      return outcome.answer;
    }
  }
  return last;
}

}  // namespace sy::proxy::control
