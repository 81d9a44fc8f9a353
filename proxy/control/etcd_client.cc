#include "proxy/control/etcd_client.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sy::proxy::control {

struct EtcdClient::Request {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;      // the request body (curl reads it from here)
  std::string received;  // the answer, or a stream's bytes not yet split into messages
  bool streaming = false;
  Done done;
  OnMessage on_message;
  OnEnd on_end;
  bool finished = false;
  CURLcode result = CURLE_OK;
};

// One of curl's sockets, watched by libuv.
struct EtcdClient::Socket {
  uv_poll_t poll{};
  EtcdClient* client = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;
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

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, absl::Duration timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {
  globalInit();
}

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
  for (auto& [id, request] : requests_) {
    curl_multi_remove_handle(multiOf(multi_), request->easy);  // closes its socket (onSocket)
    curl_easy_cleanup(request->easy);
    curl_slist_free_all(request->headers);
  }
  requests_.clear();
  curl_multi_cleanup(multiOf(multi_));
  multi_ = nullptr;
  timer_.reset();
}

size_t EtcdClient::onData(char* data, size_t size, size_t count, void* request) {
  static_cast<Request*>(request)->received.append(data, size * count);
  return size * count;
}

void* EtcdClient::newEasy(Request& request, const std::string& path, const nlohmann::json& body,
                          bool streaming) {
  CURL* easy = curl_easy_init();
  request.body = body.dump();
  request.headers = curl_slist_append(nullptr, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip before a larger body.
  request.headers = curl_slist_append(request.headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, absl::StrCat(endpoint(), path).c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, request.headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &EtcdClient::onData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &request);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &request);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
  const long timeout_ms = static_cast<long>(absl::ToInt64Milliseconds(timeout_));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // A watch stays open for as long as etcd does; the lease keepalive notices a silent etcd.
  if (!streaming) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  // Idle keep-alive connections to etcd are reused between requests.
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  request.easy = easy;
  return easy;
}

uint64_t EtcdClient::add(std::unique_ptr<Request> request, const std::string& path,
                         const nlohmann::json& body, bool streaming) {
  if (multi_ == nullptr) return 0;
  request->id = next_id_++;
  request->streaming = streaming;
  newEasy(*request, path, body, streaming);
  const uint64_t id = request->id;
  CURL* easy = request->easy;
  requests_[id] = std::move(request);
  curl_multi_add_handle(multiOf(multi_), easy);  // curl arms its timer: the work starts there
  return id;
}

uint64_t EtcdClient::call(const std::string& path, const nlohmann::json& body, Done done) {
  auto request = std::make_unique<Request>();
  request->done = std::move(done);
  return add(std::move(request), path, body, false);
}

uint64_t EtcdClient::stream(const std::string& path, const nlohmann::json& body,
                            OnMessage on_message, OnEnd on_end) {
  auto request = std::make_unique<Request>();
  request->on_message = std::move(on_message);
  request->on_end = std::move(on_end);
  return add(std::move(request), path, body, true);
}

void EtcdClient::cancel(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  std::unique_ptr<Request> request = std::move(it->second);
  requests_.erase(it);
  curl_multi_remove_handle(multiOf(multi_), request->easy);
  curl_easy_cleanup(request->easy);
  curl_slist_free_all(request->headers);
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
    if (request->streaming) {
      // One JSON message per line.
      size_t end;
      while (requests_.count(id) != 0 &&
             (end = request->received.find('\n')) != std::string::npos) {
        nlohmann::json message = nlohmann::json::parse(request->received.substr(0, end), nullptr,
                                                       /*allow_exceptions=*/false);
        request->received.erase(0, end + 1);
        if (!message.is_discarded() && request->on_message) request->on_message(message);
      }
      if (requests_.count(id) == 0 || !request->finished) continue;
    } else if (!request->finished) {
      continue;
    }
    long status = 0;
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
    std::unique_ptr<Request> owned = std::move(requests_[id]);
    requests_.erase(id);
    curl_multi_remove_handle(multiOf(multi_), owned->easy);
    curl_easy_cleanup(owned->easy);
    curl_slist_free_all(owned->headers);
    if (owned->result != CURLE_OK) transportFailed();
    const char no_detail[1] = {'\0'};
    if (owned->streaming) {
      absl::StatusOr<nlohmann::json> end =
          parseAnswer(owned->result, status == 0 ? 200 : status, "{}", no_detail);
      if (owned->on_end) owned->on_end(end.ok() ? absl::OkStatus() : end.status());
    } else if (owned->done) {
      owned->done(parseAnswer(owned->result, status, owned->received, no_detail));
    }
  }
}

void EtcdClient::transportFailed() {
  // The next requests try the next endpoint: that member may be the one still up.
  if (endpoints_.size() > 1) current_ = (current_ + 1) % endpoints_.size();
}

absl::StatusOr<nlohmann::json> EtcdClient::callBlocking(const std::string& path,
                                                        const nlohmann::json& body) {
  absl::Status last = absl::UnavailableError("no etcd endpoint");
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    Request request;
    CURL* easy = static_cast<CURL*>(newEasy(request, path, body, false));
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
    const CURLcode result = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    curl_slist_free_all(request.headers);
    absl::StatusOr<nlohmann::json> answer =
        parseAnswer(result, status, request.received, error_buffer);
    if (result == CURLE_OK) return answer;
    last = answer.status();
    transportFailed();
  }
  return last;
}

}  // namespace sy::proxy::control
