// /metrics against real processes: the figures equal the traffic that was sent (per route, pool
// and status class, per backend, per error kind), histograms are consistent, counters only go
// up (also when scraped under load), the switching state follows the admin API, and promtool
// accepts the exposition.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The bucket bounds every switchyard histogram has (core::LocalHistogram), then +Inf.
const std::vector<double> kBucketBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,    0.025,
                                           0.05,   0.1,   0.25,   0.5,   1,       2.5,
                                           5,      10,    30,     60,    INFINITY};

// Every family /metrics has from the start, whatever the traffic (the per-route event counters
// exist at zero from startup, so that increase() has data before the first event).
const std::vector<std::pair<std::string, std::string>> kFamilies = {
    {"switchyard_switches_total", "counter"},
    {"switchyard_rollbacks_total", "counter"},
    {"switchyard_promotions_total", "counter"},
    {"switchyard_canary_changes_total", "counter"},
    {"switchyard_mirror_changes_total", "counter"},
    {"switchyard_build_info", "gauge"},
    {"switchyard_process_start_time_seconds", "gauge"},
    {"switchyard_config_reloads_total", "counter"},
    {"switchyard_downstream_connections_open", "gauge"},
    {"switchyard_downstream_connections_accepted_total", "counter"},
    {"switchyard_downstream_received_bytes_total", "counter"},
    {"switchyard_downstream_sent_bytes_total", "counter"},
    {"switchyard_downstream_requests_by_protocol_total", "counter"},
    {"switchyard_http2_defences_total", "counter"},
    {"switchyard_local_replies_total", "counter"},
    {"switchyard_upstream_retries_total", "counter"},
    {"switchyard_requests_total", "counter"},
    {"switchyard_request_duration_seconds", "histogram"},
    {"switchyard_upstream_connect_duration_seconds", "histogram"},
    {"switchyard_upstream_response_header_duration_seconds", "histogram"},
    {"switchyard_backend_requests_total", "counter"},
    {"switchyard_backend_errors_total", "counter"},
    {"switchyard_backend_in_flight_requests", "gauge"},
    {"switchyard_backend_connections", "gauge"},
    {"switchyard_backend_health", "gauge"},
    {"switchyard_backend_admin_state", "gauge"},
    {"switchyard_backends", "gauge"},
    {"switchyard_route_active_pool", "gauge"},
    {"switchyard_route_canary_weight_percent", "gauge"},
    {"switchyard_config_generation", "gauge"},
};

const char* const kErrorKinds[] = {"connect_failure", "timeout", "reset", "protocol_error",
                                   "http_5xx"};

std::string statusClass(int status) { return absl::StrCat(status / 100, "xx"); }

std::string backendAddress(uint16_t port) { return absl::StrCat("127.0.0.1:", port); }

double leOf(const Sample& bucket) {
  const std::string& le = bucket.labels.at("le");
  if (le == "+Inf") return INFINITY;
  double value = NAN;
  return absl::SimpleAtod(le, &value) ? value : NAN;
}

// What is wrong with the histograms of `metrics`: per series, the buckets must be the expected
// bounds, cumulative (never decreasing), and the +Inf bucket must equal _count.
std::vector<std::string> histogramViolations(const Exposition& metrics) {
  std::vector<std::string> problems;
  for (const auto& [family, type] : metrics.types()) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<const Sample*>> by_series;
    for (const Sample* bucket : metrics.find(family + "_bucket")) {
      Sample key = *bucket;
      key.labels.erase("le");
      key.name = family;
      by_series[Exposition::seriesKey(key)].push_back(bucket);
    }
    for (auto& [series, buckets] : by_series) {
      std::stable_sort(buckets.begin(), buckets.end(),
                       [](const Sample* a, const Sample* b) { return leOf(*a) < leOf(*b); });
      std::vector<double> bounds;
      for (const Sample* b : buckets) bounds.push_back(leOf(*b));
      if (bounds != kBucketBounds) problems.push_back(series + ": unexpected bucket bounds");
      for (size_t i = 1; i < buckets.size(); ++i) {
        if (buckets[i]->value < buckets[i - 1]->value) {
          problems.push_back(absl::StrCat(series, ": bucket le=", buckets[i]->labels.at("le"), " (",
                                          buckets[i]->value,
                                          ") < le=", buckets[i - 1]->labels.at("le"), " (",
                                          buckets[i - 1]->value, "): not cumulative"));
        }
      }
      Labels labels = buckets.front()->labels;
      labels.erase("le");
      const std::optional<double> count = metrics.value(family + "_count", labels);
      const std::optional<double> sum = metrics.value(family + "_sum", labels);
      if (!count.has_value() || !sum.has_value()) {
        problems.push_back(series + ": _count or _sum missing");
      } else if (buckets.back()->value != *count) {
        problems.push_back(absl::StrCat(series, ": le=+Inf bucket ", buckets.back()->value,
                                        " != _count ", *count));
      }
      if (sum.has_value() && *sum < 0) problems.push_back(series + ": negative _sum");
    }
  }
  return problems;
}

// Counter and histogram series of `before` that are missing from `after` or smaller there.
std::vector<std::string> monotonicViolations(const Exposition& before, const Exposition& after) {
  std::map<std::string, double> later;
  for (const Sample& s : after.samples()) later[Exposition::seriesKey(s)] = s.value;
  std::vector<std::string> problems;
  for (const Sample& s : before.samples()) {
    const auto type = before.types().find(before.familyOf(s.name));
    if (type == before.types().end() ||
        (type->second != "counter" && type->second != "histogram")) {
      continue;
    }
    const std::string key = Exposition::seriesKey(s);
    auto it = later.find(key);
    if (it == later.end()) {
      problems.push_back(key + " disappeared");
    } else if (it->second < s.value) {
      problems.push_back(absl::StrCat(key, " went down from ", s.value, " to ", it->second));
    }
  }
  return problems;
}

// The families every scrape must declare, with their types.
void expectFamilies(const Exposition& metrics) {
  for (const auto& [name, type] : kFamilies) {
    auto it = metrics.types().find(name);
    if (it == metrics.types().end()) {
      ADD_FAILURE() << "family " << name << " is missing from /metrics";
      continue;
    }
    EXPECT_EQ(it->second, type) << name;
    EXPECT_TRUE(metrics.help().contains(name)) << name << " has no HELP";
  }
}

class MetricsTest : public AdminProxyTest {
 protected:
  // A scrape that must parse, pass promtool and have consistent histograms; fails the test
  // (fatally, through ASSERT_NO_FATAL_FAILURE at the caller) otherwise.
  void scrape(Exposition* out) {
    std::string raw;
    absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_, &raw);
    ASSERT_TRUE(metrics.ok()) << metrics.status() << "\n" << raw;
    const absl::Status promtool = promtoolCheckMetrics(raw);
    ASSERT_TRUE(promtool.ok()) << promtool << "\nexposition:\n" << raw;
    const std::vector<std::string> problems = histogramViolations(*metrics);
    ASSERT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n") << "\nexposition:\n" << raw;
    *out = std::move(*metrics);
  }

  // Scrapes until `condition` holds (true) or 5 s passed (false); `out` is the last scrape.
  // Figures are updated right after the response leaves, so a scrape that follows the last
  // response may, rarely, come a few microseconds too early.
  bool scrapeUntil(const std::function<bool(const Exposition&)>& condition, Exposition* out) {
    const Clock::time_point deadline = Clock::now() + seconds(5);
    for (;;) {
      absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
      if (metrics.ok()) {
        *out = std::move(*metrics);
        if (condition(*out)) return true;
      }
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
};

// --- Traffic ----------------------------------------------------------------------------------

// Route "web" (host web.test): pool "stable" with a 30% canary to pool "canary". Route "api"
// (host api.test): pool "api". Any other host: 404 without a route. One backend per pool.
std::string splitConfig(uint16_t stable, uint16_t canary, uint16_t api) {
  return absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      "[[pools]]\nname = \"stable\"\nbackends = [\"", backendAddress(stable), "\"]\n\n",
      "[[pools]]\nname = \"canary\"\nbackends = [\"", backendAddress(canary), "\"]\n\n",
      "[[pools]]\nname = \"api\"\nbackends = [\"", backendAddress(api), "\"]\n\n",
      "[[routes]]\nname = \"web\"\nhosts = [\"web.test\"]\npool = \"stable\"\n",
      "canary = { pool = \"canary\", weight = 30 }\npool_header = \"X-Switchyard-Pool\"\n\n",
      "[[routes]]\nname = \"api\"\nhosts = [\"api.test\"]\npool = \"api\"\n",
      "pool_header = \"X-Switchyard-Pool\"\n");
}

// What the clients saw, as (route, pool, class) -> responses.
using Seen = std::map<std::tuple<std::string, std::string, std::string>, uint64_t>;

TEST_F(MetricsTest, FiguresEqualTheTrafficSentAcrossPoolsRoutesAndClasses) {
  ASSERT_NO_FATAL_FAILURE(startBackend("stable"));
  ASSERT_NO_FATAL_FAILURE(startBackend("canary"));
  ASSERT_NO_FATAL_FAILURE(startBackend("api"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(splitConfig(backendPort(0), backendPort(1), backendPort(2))));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());

  Exposition idle;
  ASSERT_NO_FATAL_FAILURE(scrape(&idle));
  expectFamilies(idle);
  EXPECT_TRUE(idle.find("switchyard_requests_total").empty()) << "no request was sent yet";

  // Each client: one keep-alive connection, kRounds times the same seven requests.
  struct Step {
    const char* host;
    const char* path;
    const char* route;  // "" for the request no route matches
  };
  const std::vector<Step> steps = {
      {"web.test", "/", "web"},           {"web.test", "/status/503", "web"},
      {"web.test", "/status/404", "web"}, {"web.test", "/status/302", "web"},
      {"api.test", "/", "api"},           {"api.test", "/status/500", "api"},
      {"nowhere.test", "/", ""},
  };
  // The clients run until both scrapes under load are taken, and at least kMinRounds rounds.
  constexpr int kClients = 4;
  constexpr int kMinRounds = 20;

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::mutex mutex;
  Seen seen;
  uint64_t total = 0;
  uint64_t no_route = 0;
  uint64_t rounds_done = 0;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      Seen mine;
      uint64_t my_total = 0;
      uint64_t my_no_route = 0;
      int rounds = 0;
      std::string failure;
      HttpClient client;
      if (!client.connect(port())) failure = client.lastError();
      const Clock::time_point deadline = Clock::now() + seconds(60);
      for (; failure.empty() && (rounds < kMinRounds || !stop.load()); ++rounds) {
        if (Clock::now() > deadline) {
          failure = "still running after 60 s: the test never stopped the load";
          break;
        }
        for (const Step& step : steps) {
          std::optional<Response> response =
              client.request("GET", step.path, {{"Host", step.host}});
          if (!response.has_value()) {
            failure = absl::StrCat(step.host, step.path, ": ", client.lastError());
            break;
          }
          ++my_total;
          if (*step.route == '\0') {
            if (response->status != 404 || response->header("X-Switchyard-Pool").has_value()) {
              failure = absl::StrCat("no-route request answered ", response->status);
              break;
            }
            ++my_no_route;
          } else {
            const std::optional<std::string> pool = response->header("X-Switchyard-Pool");
            if (!pool.has_value()) {
              failure = absl::StrCat(step.host, step.path, " answered ", response->status,
                                     " without the pool header");
              break;
            }
            ++mine[{step.route, *pool, statusClass(response->status)}];
          }
          done.fetch_add(1);
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      for (const auto& [key, n] : mine) seen[key] += n;
      total += my_total;
      no_route += my_no_route;
      rounds_done += static_cast<uint64_t>(rounds);
      if (!failure.empty()) failures.push_back(failure);
    });
  }

  // Two scrapes while the clients run (they cannot stop before `stop`): valid, and never ahead
  // of a later scrape. Requests completed between them prove they were taken under load.
  Exposition during_1;
  Exposition during_2;
  uint64_t done_at_1 = 0;
  uint64_t done_at_2 = 0;
  const bool loaded = waitUntil([&] { return done.load() >= 200; }, seconds(30));
  if (loaded) {
    ASSERT_NO_FATAL_FAILURE(scrape(&during_1));
    done_at_1 = done.load();
    waitUntil([&] { return done.load() >= done_at_1 + 200; }, seconds(30));
    ASSERT_NO_FATAL_FAILURE(scrape(&during_2));
    done_at_2 = done.load();
  }
  stop.store(true);
  for (std::thread& t : clients) t.join();
  ASSERT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
  ASSERT_TRUE(loaded) << "the clients did not get 200 answers in 30 s";
  ASSERT_EQ(done.load(), total);
  EXPECT_GT(done_at_2, done_at_1) << "no request completed between the scrapes under load";
  EXPECT_GT(during_2.sum("switchyard_requests_total"), during_1.sum("switchyard_requests_total"));
  std::printf("%llu requests in %llu rounds; scraped under load at %llu and %llu\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(rounds_done),
              static_cast<unsigned long long>(done_at_1),
              static_cast<unsigned long long>(done_at_2));

  // Every request counted: wait (a few ms at most) until the last ones are in.
  const uint64_t routed = total - no_route;
  Exposition after;
  EXPECT_TRUE(scrapeUntil(
      [&](const Exposition& m) {
        return m.sum("switchyard_requests_total") == static_cast<double>(routed) &&
               m.sum("switchyard_backend_in_flight_requests") == 0 &&
               m.sum("switchyard_backend_connections", {{"state", "open"}}) ==
                   m.sum("switchyard_backend_connections", {{"state", "idle"}});
      },
      &after))
      << "figures did not settle";
  ASSERT_NO_FATAL_FAILURE(scrape(&after));

  for (const auto& [before, later, what] :
       {std::tuple{&idle, &during_1, "idle -> during load"},
        std::tuple{&during_1, &during_2, "during load -> during load"},
        std::tuple{&during_2, &after, "during load -> after"}}) {
    const std::vector<std::string> problems = monotonicViolations(*before, *later);
    EXPECT_TRUE(problems.empty()) << what << ":\n" << absl::StrJoin(problems, "\n");
  }

  // The split really went to both pools of "web", and every class was produced.
  std::map<std::string, uint64_t> per_pool;
  for (const auto& [key, n] : seen) per_pool[std::get<1>(key)] += n;
  ASSERT_GT(per_pool["stable"], 0u);
  ASSERT_GT(per_pool["canary"], 0u);
  ASSERT_EQ(per_pool["api"], rounds_done * 2);
  EXPECT_EQ(no_route, rounds_done);

  // switchyard_requests_total: exactly what the clients saw, series by series, and nothing else.
  for (const auto& [key, n] : seen) {
    const auto& [route, pool, cls] = key;
    EXPECT_EQ(after.value("switchyard_requests_total",
                          {{"route", route}, {"pool", pool}, {"class", cls}}),
              std::optional<double>(static_cast<double>(n)))
        << route << "/" << pool << "/" << cls;
  }
  for (const Sample* s : after.find("switchyard_requests_total")) {
    EXPECT_TRUE(seen.contains({s->labels.at("route"), s->labels.at("pool"), s->labels.at("class")}))
        << "unexpected series " << s->toString();
    EXPECT_EQ(s->labels.size(), 3u) << s->toString();
  }

  // The duration histogram counts the same requests, per route and pool.
  std::map<std::pair<std::string, std::string>, uint64_t> per_route_pool;
  for (const auto& [key, n] : seen) per_route_pool[{std::get<0>(key), std::get<1>(key)}] += n;
  EXPECT_EQ(after.find("switchyard_request_duration_seconds_count").size(), per_route_pool.size());
  for (const auto& [key, n] : per_route_pool) {
    const Labels labels = {{"route", key.first}, {"pool", key.second}};
    EXPECT_EQ(after.value("switchyard_request_duration_seconds_count", labels),
              std::optional<double>(static_cast<double>(n)))
        << key.first << "/" << key.second;
    EXPECT_EQ(after.value("switchyard_request_duration_seconds_bucket",
                          {{"route", key.first}, {"pool", key.second}, {"le", "+Inf"}}),
              std::optional<double>(static_cast<double>(n)));
    EXPECT_GT(after.value("switchyard_request_duration_seconds_sum", labels).value_or(0), 0);
  }

  // Per backend: requests, 5xx, nothing else failed, all connections idle again, and the same
  // numbers as the backends themselves count.
  const std::vector<std::string> pools = {"stable", "canary", "api"};
  for (size_t i = 0; i < pools.size(); ++i) {
    const Labels labels = {{"pool", pools[i]}, {"backend", backendAddress(backendPort(i))}};
    uint64_t requests = 0;
    uint64_t errors_5xx = 0;
    for (const auto& [key, n] : seen) {
      if (std::get<1>(key) != pools[i]) continue;
      requests += n;
      if (std::get<2>(key) == "5xx") errors_5xx += n;
    }
    const BackendStats backend = stats(i);
    EXPECT_EQ(backend.requests, requests) << pools[i];
    EXPECT_EQ(after.value("switchyard_backend_requests_total", labels),
              std::optional<double>(static_cast<double>(requests)))
        << pools[i];
    for (const char* kind : kErrorKinds) {
      Labels with_kind = labels;
      with_kind["kind"] = kind;
      const double expected = std::string(kind) == "http_5xx" ? static_cast<double>(errors_5xx) : 0;
      EXPECT_EQ(after.value("switchyard_backend_errors_total", with_kind),
                std::optional<double>(expected))
          << pools[i] << " " << kind;
    }
    EXPECT_EQ(after.value("switchyard_backend_in_flight_requests", labels),
              std::optional<double>(0));
    Labels open = labels;
    open["state"] = "open";
    Labels idle_state = labels;
    idle_state["state"] = "idle";
    const double open_now = after.value("switchyard_backend_connections", open).value_or(-1);
    EXPECT_GE(open_now, 1) << pools[i] << ": keep-alive connections stay open";
    EXPECT_EQ(after.value("switchyard_backend_connections", idle_state),
              std::optional<double>(open_now))
        << pools[i] << ": with no request in flight every open connection is idle";
    EXPECT_LE(open_now, static_cast<double>(backend.connections));
    // Each connection the backend accepted was one connect, timed once; the backend also
    // counted the connection of the /control/stats call above.
    EXPECT_EQ(
        after.value("switchyard_upstream_connect_duration_seconds_count", {{"pool", pools[i]}}),
        std::optional<double>(static_cast<double>(backend.connections - 1)))
        << pools[i];
    EXPECT_EQ(after.value("switchyard_upstream_response_header_duration_seconds_count",
                          {{"pool", pools[i]}}),
              std::optional<double>(static_cast<double>(requests)))
        << pools[i];
    // Nobody checks health or drains backends in this configuration.
    // These pools have no health check: the backends are "unchecked".
    Labels unchecked = labels;
    unchecked["state"] = "unchecked";
    EXPECT_EQ(after.value("switchyard_backend_health", unchecked), std::optional<double>(1));
    EXPECT_EQ(after.sum("switchyard_backend_health", labels), 1) << "one state at a time";
    Labels ready = labels;
    ready["state"] = "ready";
    EXPECT_EQ(after.value("switchyard_backend_admin_state", ready), std::optional<double>(1));
    EXPECT_EQ(after.sum("switchyard_backend_admin_state", labels), 1);
  }

  // Client side: the clients' connections, the 404s without a route as local replies, no retry.
  EXPECT_EQ(after.value("switchyard_downstream_connections_accepted_total"),
            std::optional<double>(kClients));
  EXPECT_EQ(after.value("switchyard_local_replies_total"),
            std::optional<double>(static_cast<double>(no_route)));
  EXPECT_EQ(after.value("switchyard_upstream_retries_total"), std::optional<double>(0));
  EXPECT_GT(after.value("switchyard_downstream_received_bytes_total").value_or(0), 0);
  EXPECT_GT(after.value("switchyard_downstream_sent_bytes_total").value_or(0), 0);
  EXPECT_TRUE(scrapeUntil(
      [](const Exposition& m) {
        return m.value("switchyard_downstream_connections_open") == std::optional<double>(0);
      },
      &after))
      << "client connections still open after every client closed";
}

// --- Failures ---------------------------------------------------------------------------------

TEST_F(MetricsTest, DeadBackendCountsConnectFailuresRetriesAndLocalReplies) {
  ASSERT_NO_FATAL_FAILURE(startBackend("live"));
  const uint16_t dead = refusingPort();
  const uint16_t dead_alone = refusingPort();
  ASSERT_NE(dead, 0);
  ASSERT_NE(dead_alone, 0);
  // One worker: its round robin alternates between the dead and the live backend. Passive
  // ejection is off, or it would take the dead backend out and change the counts.
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[server]\nworkers = 1\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      "[[pools]]\nname = \"mixed\"\nbackends = [\"", backendAddress(dead), "\", \"",
      backendAddress(backendPort(0)), "\"]\noutlier_detection = { consecutive_failures = 0 }\n\n",
      "[[pools]]\nname = \"dead\"\nbackends = [\"", backendAddress(dead_alone),
      "\"]\noutlier_detection = { consecutive_failures = 0 }\n\n",
      "[[routes]]\nname = \"mixed\"\nhosts = [\"mixed.test\"]\npool = \"mixed\"\n\n",
      "[[routes]]\nname = \"dead\"\nhosts = [\"dead.test\"]\npool = \"dead\"\nretries = 0\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());

  constexpr int kMixed = 20;
  constexpr int kDead = 7;
  HttpClient client;
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  for (int i = 0; i < kMixed; ++i) {
    std::optional<Response> response = client.request("GET", "/", {{"Host", "mixed.test"}});
    ASSERT_TRUE(response.has_value()) << client.lastError();
    ASSERT_EQ(response->status, 200) << "the retry reaches the live backend";
  }
  for (int i = 0; i < kDead; ++i) {
    std::optional<Response> response = client.request("GET", "/", {{"Host", "dead.test"}});
    ASSERT_TRUE(response.has_value()) << client.lastError();
    ASSERT_EQ(response->status, 502);
  }
  client.close();

  Exposition m;
  EXPECT_TRUE(scrapeUntil(
      [&](const Exposition& x) {
        return x.sum("switchyard_requests_total") == kMixed + kDead &&
               x.sum("switchyard_backend_in_flight_requests") == 0;
      },
      &m));
  ASSERT_NO_FATAL_FAILURE(scrape(&m));

  const Labels dead_labels = {{"pool", "mixed"}, {"backend", backendAddress(dead)}};
  const Labels live_labels = {{"pool", "mixed"}, {"backend", backendAddress(backendPort(0))}};
  const Labels alone_labels = {{"pool", "dead"}, {"backend", backendAddress(dead_alone)}};
  auto error = [&](Labels labels, const char* kind) {
    labels["kind"] = kind;
    return m.value("switchyard_backend_errors_total", labels).value_or(-1);
  };

  // The live backend served every "mixed" request, once each; the dead one was tried (each try
  // is a backend request) and every try failed to connect, which is what the retries were for.
  const BackendStats live = stats(0);
  EXPECT_EQ(live.requests, static_cast<uint64_t>(kMixed));
  EXPECT_EQ(m.value("switchyard_backend_requests_total", live_labels),
            std::optional<double>(kMixed));
  const double dead_tries = m.value("switchyard_backend_requests_total", dead_labels).value_or(-1);
  EXPECT_GE(dead_tries, kMixed / 2 - 1) << "round robin sends every other first try there";
  EXPECT_LE(dead_tries, kMixed);
  EXPECT_EQ(error(dead_labels, "connect_failure"), dead_tries);
  EXPECT_EQ(m.value("switchyard_upstream_retries_total"), std::optional<double>(dead_tries));
  EXPECT_EQ(m.value("switchyard_requests_total",
                    {{"route", "mixed"}, {"pool", "mixed"}, {"class", "2xx"}}),
            std::optional<double>(kMixed));

  // Alone and with retries = 0: one try, one connect failure and one 502 per request.
  EXPECT_EQ(m.value("switchyard_backend_requests_total", alone_labels),
            std::optional<double>(kDead));
  EXPECT_EQ(error(alone_labels, "connect_failure"), kDead);
  EXPECT_EQ(
      m.value("switchyard_requests_total", {{"route", "dead"}, {"pool", "dead"}, {"class", "5xx"}}),
      std::optional<double>(kDead));
  EXPECT_EQ(m.value("switchyard_local_replies_total"), std::optional<double>(kDead));
  EXPECT_EQ(
      m.value("switchyard_request_duration_seconds_count", {{"route", "dead"}, {"pool", "dead"}}),
      std::optional<double>(kDead));

  for (const Labels& labels : {dead_labels, live_labels, alone_labels}) {
    for (const char* kind : {"timeout", "reset", "protocol_error", "http_5xx"}) {
      EXPECT_EQ(error(labels, kind), 0) << labels.at("backend") << " " << kind;
    }
    EXPECT_EQ(m.value("switchyard_backend_in_flight_requests", labels), std::optional<double>(0))
        << labels.at("backend");
  }
  EXPECT_EQ(error(live_labels, "connect_failure"), 0);
  for (const Labels& labels : {dead_labels, alone_labels}) {
    for (const char* state : {"open", "idle"}) {
      Labels with_state = labels;
      with_state["state"] = state;
      EXPECT_EQ(m.value("switchyard_backend_connections", with_state), std::optional<double>(0))
          << labels.at("backend") << " " << state << ": a failed connect leaves no connection";
    }
  }
  // Only successful connects are timed.
  EXPECT_EQ(m.value("switchyard_upstream_connect_duration_seconds_count", {{"pool", "dead"}}),
            std::optional<double>(0));
  // The live backend also counted the connection of the /control/stats call above.
  EXPECT_EQ(m.value("switchyard_upstream_connect_duration_seconds_count", {{"pool", "mixed"}}),
            std::optional<double>(static_cast<double>(live.connections - 1)));
}

// --- Switching state and control-plane counters ------------------------------------------------

std::string blueGreen(uint16_t blue, uint16_t green) {
  return absl::StrCat(
      "[server]\nworkers = 2\n\n[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
      "[[pools]]\nname = \"blue\"\nbackends = [\"", backendAddress(blue), "\"]\n\n",
      "[[pools]]\nname = \"green\"\nbackends = [\"", backendAddress(green), "\"]\n\n",
      "[[routes]]\nname = \"web\"\npool = \"blue\"\n");
}

TEST_F(MetricsTest, SwitchingStateAndControlCountersFollowTheAdminApi) {
  const std::time_t started = std::time(nullptr);
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(startBackend("green"));
  const std::string config = blueGreen(backendPort(0), backendPort(1));
  ASSERT_NO_FATAL_FAILURE(startProxyToml(config));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());

  Exposition m;
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  expectFamilies(m);
  // Identity and start time.
  const std::vector<const Sample*> build = m.find("switchyard_build_info");
  ASSERT_EQ(build.size(), 1u);
  EXPECT_EQ(build[0]->value, 1);
  EXPECT_FALSE(build[0]->labels.at("version").empty());
  EXPECT_TRUE(build[0]->labels.contains("commit"));
  const double start_time = m.value("switchyard_process_start_time_seconds").value_or(0);
  EXPECT_GE(start_time, static_cast<double>(started) - 1);
  EXPECT_LE(start_time, static_cast<double>(std::time(nullptr)) + 1);
  // The state of the file: generation 1, blue active, no canary, no event counted.
  EXPECT_EQ(m.value("switchyard_config_generation"), std::optional<double>(1));
  EXPECT_EQ(m.find("switchyard_route_active_pool").size(), 1u);
  EXPECT_EQ(m.value("switchyard_route_active_pool", {{"route", "web"}, {"pool", "blue"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_route_canary_weight_percent", {{"route", "web"}}),
            std::optional<double>(0));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "success"}}),
            std::optional<double>(0));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "failure"}}),
            std::optional<double>(0));
  EXPECT_EQ(m.sum("switchyard_switches_total"), 0);

  // A switch: one active pool series, now green, the answer's generation, one switch counted.
  AdminResult switched = admin("POST", "/admin/switch?to=green");
  ASSERT_EQ(switched.status, 200) << switched.body.dump();
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.find("switchyard_route_active_pool").size(), 1u);
  EXPECT_EQ(m.value("switchyard_route_active_pool", {{"route", "web"}, {"pool", "green"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_config_generation"),
            std::optional<double>(switched.body["generation"].get<double>()));
  EXPECT_EQ(m.value("switchyard_switches_total", {{"route", "web"}}), std::optional<double>(1));

  // A switch to the pool already active changes nothing and counts nothing.
  AdminResult again = admin("POST", "/admin/switch?to=green");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body["changed"], false);
  Exposition same;
  ASSERT_NO_FATAL_FAILURE(scrape(&same));
  EXPECT_EQ(same.value("switchyard_switches_total", {{"route", "web"}}), std::optional<double>(1));
  EXPECT_EQ(same.value("switchyard_config_generation"), m.value("switchyard_config_generation"));

  // Canary, promote, rollback: gauges follow, each counter counts its own calls.
  AdminResult canary = admin("POST", "/admin/canary?pool=blue&weight=12.5");
  ASSERT_EQ(canary.status, 200) << canary.body.dump();
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.value("switchyard_route_canary_weight_percent", {{"route", "web"}, {"pool", "blue"}}),
            std::optional<double>(12.5));
  EXPECT_EQ(m.value("switchyard_canary_changes_total", {{"route", "web"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_config_generation"),
            std::optional<double>(canary.body["generation"].get<double>()));

  AdminResult promoted = admin("POST", "/admin/promote");
  ASSERT_EQ(promoted.status, 200) << promoted.body.dump();
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.value("switchyard_route_active_pool", {{"route", "web"}, {"pool", "blue"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.find("switchyard_route_active_pool").size(), 1u);
  EXPECT_EQ(m.value("switchyard_route_canary_weight_percent", {{"route", "web"}}),
            std::optional<double>(0));
  EXPECT_EQ(m.value("switchyard_promotions_total", {{"route", "web"}}), std::optional<double>(1));

  AdminResult rolled = admin("POST", "/admin/rollback");
  ASSERT_EQ(rolled.status, 200) << rolled.body.dump();
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.value("switchyard_route_active_pool", {{"route", "web"}, {"pool", "green"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_rollbacks_total", {{"route", "web"}}), std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_switches_total", {{"route", "web"}}), std::optional<double>(1))
      << "a rollback is not a switch";
  const double generation = m.value("switchyard_config_generation").value_or(0);
  EXPECT_EQ(generation, rolled.body["generation"].get<double>());

  // Reloads: a valid file counts a success and publishes a generation; an invalid one (by SIGHUP
  // and by the admin API) counts failures and keeps the generation.
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(config);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ((*reloaded)["event"], "config_reloaded") << reloaded->dump();
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "success"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "failure"}}),
            std::optional<double>(0));
  EXPECT_EQ(m.value("switchyard_config_generation"), std::optional<double>(generation + 1));
  EXPECT_EQ(m.value("switchyard_route_active_pool", {{"route", "web"}, {"pool", "green"}}),
            std::optional<double>(1))
      << "the runtime switch survives a reload of an unchanged route";

  absl::StatusOr<nlohmann::json> refused = proxy_.reload("[server]\nworkers = \"many\"\n");
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ((*refused)["event"], "config_reload_failed") << refused->dump();
  EXPECT_EQ(admin("POST", "/admin/reload").status, 400);
  ASSERT_NO_FATAL_FAILURE(scrape(&m));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "success"}}),
            std::optional<double>(1));
  EXPECT_EQ(m.value("switchyard_config_reloads_total", {{"result", "failure"}}),
            std::optional<double>(2));
  EXPECT_EQ(m.value("switchyard_config_generation"), std::optional<double>(generation + 1));
}

TEST_F(MetricsTest, MetricsNeedNoTokenAndOnlyAnswerGet) {
  ASSERT_NO_FATAL_FAILURE(startBackend("app"));
  SimpleConfig config{.backends = {backendPort(0)}};
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      simpleConfig(config), "\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"s3cret-token\"\n")));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  Exposition m;
  ASSERT_NO_FATAL_FAILURE(scrape(&m));  // no Authorization header
  EXPECT_EQ(admin("POST", "/metrics").status, 405);
  EXPECT_EQ(admin("GET", "/admin/status").status, 401) << "the token is in force";
}

}  // namespace
}  // namespace sy::testing
