// Per-request cost of the HTTP/1 codec on the hot path: parsing a request, rewriting it into the
// head sent to the backend, parsing the backend's response head and writing the head sent back
// to the client.

#include <string>
#include <string_view>

#include "benchmark/benchmark.h"
#include "http/http1_parser.h"
#include "http/message_writer.h"

namespace sy::http {
namespace {

// What Chrome 118 sends for a page navigation: 17 fields, a query string and cookies (~1 KiB).
constexpr std::string_view kBrowserRequest =
    "GET /products/shoes/trail-runner-2?color=blue&size=42&ref=home HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"118\", \"Google Chrome\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/products/shoes\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=7f3a9c2e51d84b6fa0e2c4d6b8f01234; segment=vip-2; "
    "_ga=GA1.2.1234567890.1698765432; theme=dark\r\n"
    "X-Forwarded-For: 203.0.113.9\r\n"
    "\r\n";

// What wrk sends in the end-to-end benchmark (bench/run.sh).
constexpr std::string_view kWrkRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

// A typical application server's answer: 10 fields and a small body.
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: gunicorn\r\n"
    "Date: Wed, 22 Nov 2023 06:13:26 GMT\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 5\r\n"
    "Cache-Control: private, max-age=0, must-revalidate\r\n"
    "Vary: Accept-Encoding, Cookie\r\n"
    "Set-Cookie: csrftoken=Zx8Qm1lY4s0PqF2vR7tW; Path=/; SameSite=Lax\r\n"
    "X-Request-Id: 0c9e4f1a-6b2d-4c8e-9f3a-1d2b3c4d5e6f\r\n"
    "X-Backend: blue\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "blue\n";

// The demo backend's answer, as in the end-to-end benchmark.
constexpr std::string_view kDemoResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Backend: blue\r\nContent-Length: 5\r\n\r\n"
    "blue\n";

class Sink final : public ParserCallbacks {
 public:
  HeadAction onHeadComplete() override { return kProceed; }
  void onBody(const char* data, size_t length) override {
    benchmark::DoNotOptimize(data);
    body_bytes += length;
  }
  void onMessageComplete() override { ++messages; }
  size_t body_bytes = 0;
  size_t messages = 0;
};

// Parses one whole message; the parser is reused (resume()) as on a keep-alive connection.
bool parseOne(Http1Parser& parser, std::string_view message) {
  size_t consumed = 0;
  const Http1Parser::Result result = parser.execute(message.data(), message.size(), &consumed);
  if (result != Http1Parser::Result::kPaused) return false;
  parser.resume();
  return true;
}

void parseRequest(benchmark::State& state, std::string_view request) {
  Sink sink;
  Http1Parser parser(Http1Parser::Type::kRequest, &sink);
  for (auto _ : state) {
    if (!parseOne(parser, request)) {
      state.SkipWithError(std::string(parser.errorReason()).c_str());
      break;
    }
    benchmark::DoNotOptimize(parser.headers().size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request.size()));
}

void BM_ParseRequestBrowser(benchmark::State& state) { parseRequest(state, kBrowserRequest); }
BENCHMARK(BM_ParseRequestBrowser);

void BM_ParseRequestMinimal(benchmark::State& state) { parseRequest(state, kWrkRequest); }
BENCHMARK(BM_ParseRequestMinimal);

// Parse + the rewrite the proxy does before forwarding (hop-by-hop removal, X-Forwarded-*).
void parseAndRewrite(benchmark::State& state, std::string_view request) {
  Sink sink;
  Http1Parser parser(Http1Parser::Type::kRequest, &sink);
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "198.51.100.23";
  options.host_fallback = "10.0.0.11:8080";
  options.drop_expect = true;
  for (auto _ : state) {
    size_t consumed = 0;
    if (parser.execute(request.data(), request.size(), &consumed) != Http1Parser::Result::kPaused) {
      state.SkipWithError("parse failed");
      break;
    }
    buildUpstreamRequestHead(parser, options, &head);
    benchmark::DoNotOptimize(head.data());
    parser.resume();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["head_bytes"] = static_cast<double>(head.size());
}

void BM_ParseAndRewriteRequestBrowser(benchmark::State& state) {
  parseAndRewrite(state, kBrowserRequest);
}
BENCHMARK(BM_ParseAndRewriteRequestBrowser);

void BM_ParseAndRewriteRequestMinimal(benchmark::State& state) {
  parseAndRewrite(state, kWrkRequest);
}
BENCHMARK(BM_ParseAndRewriteRequestMinimal);

// The rewrite alone, from a parsed head.
void BM_RewriteRequestBrowser(benchmark::State& state) {
  Sink sink;
  Http1Parser parser(Http1Parser::Type::kRequest, &sink);
  size_t consumed = 0;
  parser.execute(kBrowserRequest.data(), kBrowserRequest.size(), &consumed);
  std::string head;
  UpstreamRequestOptions options;
  options.client_ip = "198.51.100.23";
  options.drop_expect = true;
  for (auto _ : state) {
    buildUpstreamRequestHead(parser, options, &head);
    benchmark::DoNotOptimize(head.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RewriteRequestBrowser);

void parseResponse(benchmark::State& state, std::string_view response) {
  Sink sink;
  Http1Parser parser(Http1Parser::Type::kResponse, &sink);
  for (auto _ : state) {
    if (!parseOne(parser, response)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(parser.statusCode());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * response.size()));
}

void BM_ParseResponseHeadTypical(benchmark::State& state) { parseResponse(state, kResponse); }
BENCHMARK(BM_ParseResponseHeadTypical);

void BM_ParseResponseHeadDemo(benchmark::State& state) { parseResponse(state, kDemoResponse); }
BENCHMARK(BM_ParseResponseHeadDemo);

// Response parse + the head written to the client (hop-by-hop removal).
void BM_ParseAndBuildResponseHead(benchmark::State& state) {
  Sink sink;
  Http1Parser parser(Http1Parser::Type::kResponse, &sink);
  std::string head;
  DownstreamResponseOptions options;
  for (auto _ : state) {
    size_t consumed = 0;
    // Stops right after the head+body; the head is still readable until resume().
    if (parser.execute(kResponse.data(), kResponse.size(), &consumed) !=
        Http1Parser::Result::kPaused) {
      state.SkipWithError("parse failed");
      break;
    }
    buildDownstreamResponseHead(parser, options, &head);
    benchmark::DoNotOptimize(head.data());
    parser.resume();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndBuildResponseHead);

// The codec work of one proxied request as DownstreamConnection and UpstreamConnection do it:
// parse the request, write the backend's request head, parse the response, write the client's
// response head. The proxy frees the heads' memory after every exchange (an idle keep-alive
// connection holds no buffers): `release` does the same (HeaderBlock::release, head strings
// swapped out), so the difference between the two variants is what that costs per request.
void proxyCycle(benchmark::State& state, std::string_view request, std::string_view response,
                bool release) {
  Sink sink;
  Http1Parser downstream(Http1Parser::Type::kRequest, &sink);
  Http1Parser upstream(Http1Parser::Type::kResponse, &sink);
  std::string request_head;
  std::string response_head;
  UpstreamRequestOptions request_options;
  request_options.client_ip = "127.0.0.1";
  request_options.drop_expect = true;
  DownstreamResponseOptions response_options;
  for (auto _ : state) {
    size_t consumed = 0;
    if (downstream.execute(request.data(), request.size(), &consumed) !=
        Http1Parser::Result::kPaused) {
      state.SkipWithError("request parse failed");
      break;
    }
    buildUpstreamRequestHead(downstream, request_options, &request_head);
    benchmark::DoNotOptimize(request_head.data());
    if (upstream.execute(response.data(), response.size(), &consumed) !=
        Http1Parser::Result::kPaused) {
      state.SkipWithError("response parse failed");
      break;
    }
    buildDownstreamResponseHead(upstream, response_options, &response_head);
    benchmark::DoNotOptimize(response_head.data());
    upstream.resume();
    downstream.resume();
    if (release) {
      upstream.releaseHead();
      downstream.releaseHead();
      std::string().swap(request_head);
      std::string().swap(response_head);
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// wrk's request and the demo backend's answer: the end-to-end "small" scenario.
void BM_ProxyCycleMinimalRelease(benchmark::State& state) {
  proxyCycle(state, kWrkRequest, kDemoResponse, true);
}
BENCHMARK(BM_ProxyCycleMinimalRelease);

void BM_ProxyCycleMinimalReuse(benchmark::State& state) {
  proxyCycle(state, kWrkRequest, kDemoResponse, false);
}
BENCHMARK(BM_ProxyCycleMinimalReuse);

void BM_ProxyCycleBrowserRelease(benchmark::State& state) {
  proxyCycle(state, kBrowserRequest, kResponse, true);
}
BENCHMARK(BM_ProxyCycleBrowserRelease);

void BM_ProxyCycleBrowserReuse(benchmark::State& state) {
  proxyCycle(state, kBrowserRequest, kResponse, false);
}
BENCHMARK(BM_ProxyCycleBrowserReuse);

}  // namespace
}  // namespace sy::http
