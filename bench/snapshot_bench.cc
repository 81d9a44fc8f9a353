// What a flip or a reload costs outside the request path: the control thread builds a snapshot
// (SnapshotBuilder::build), then every worker adopts it (Worker::adopt: rebuilds its WorkerPool
// objects for pools that changed, keeps the others). Both run here on one thread, without
// starting the worker's loop: adopt() only touches the worker's own maps. The cross-thread part
// of a flip (post to each worker, wait for every ack) is measured end to end by bench/run.sh.

#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "proxy/worker.h"
#include "routing/config/toml_loader.h"
#include "routing/snapshot.h"
#include "routing/traffic_state.h"

namespace sy::routing {
namespace {

// Two pools (blue, green) of `backends` backends each and `routes` routes, all on blue.
std::shared_ptr<const config::Config> makeConfig(int backends, int routes,
                                                 const char* balancer = "round_robin") {
  std::string text = "[[listeners]]\nlisten = \"127.0.0.1:8080\"\n";
  int port = 10000;
  for (const char* pool : {"blue", "green"}) {
    text += "[[pools]]\nname = \"" + std::string(pool) + "\"\nbalancer = \"" + balancer + "\"\n";
    if (std::string(balancer) == "hash") text += "hash_key = \"header:x-user\"\n";
    text += "backends = [";
    for (int i = 0; i < backends; ++i) {
      text += (i > 0 ? ", " : "") + std::string("{ address = \"127.0.") +
              std::to_string(port / 250 % 250) + "." + std::to_string(port % 250 + 1) +
              ":8080\", weight = " + std::to_string(i % 5 + 1) + " }";
      ++port;
    }
    text += "]\n";
  }
  for (int i = 0; i < routes; ++i) {
    text += "[[routes]]\nname = \"r" + std::to_string(i) + "\"\npath_prefix = \"/r" +
            std::to_string(i) + "/\"\npool = \"blue\"\n";
  }
  config::LoadResult result = config::parseConfigText(text, "bench.toml");
  if (!result.ok()) return nullptr;
  return std::make_shared<const config::Config>(std::move(*result.config));
}

// A flip: the traffic state changes, the configuration object stays, so every PoolSnapshot is
// reused and only the routes are rebuilt.
void BM_SnapshotBuildFlip(benchmark::State& state) {
  auto config = makeConfig(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  if (config == nullptr) return state.SkipWithError("bad configuration");
  SnapshotBuilder builder;
  builder.setWorkerCount(2);
  TrafficState traffic;
  traffic.reconcile(*config);
  builder.build(config, &traffic);
  bool green = false;
  for (auto _ : state) {
    green = !green;
    for (const config::RouteConfig& route : config->routes) {
      (void)traffic.switchTo(route.name, green ? "green" : "blue", *config);
    }
    benchmark::DoNotOptimize(builder.build(config, &traffic));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnapshotBuildFlip)
    ->ArgNames({"backends", "routes"})
    ->Args({2, 1})
    ->Args({16, 1})
    ->Args({256, 1})
    ->Args({16, 100})
    ->Unit(benchmark::kMicrosecond);

// A reload: a new configuration object, so every pool is rebuilt (backend ids and stats are
// carried over). Alternating between two equal configurations makes every build a rebuild.
void buildReload(benchmark::State& state, const char* balancer) {
  const int backends = static_cast<int>(state.range(0));
  auto a = makeConfig(backends, 1, balancer);
  auto b = makeConfig(backends, 1, balancer);
  if (a == nullptr || b == nullptr) return state.SkipWithError("bad configuration");
  SnapshotBuilder builder;
  builder.setWorkerCount(2);
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    benchmark::DoNotOptimize(builder.build(flip ? a : b));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SnapshotBuildReload(benchmark::State& state) { buildReload(state, "round_robin"); }
BENCHMARK(BM_SnapshotBuildReload)
    ->ArgName("backends")
    ->Arg(2)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond);

// With the hash balancer the build also makes the ring (160 points per unit of weight).
void BM_SnapshotBuildReloadHash(benchmark::State& state) { buildReload(state, "hash"); }
BENCHMARK(BM_SnapshotBuildReloadHash)
    ->ArgName("backends")
    ->Arg(2)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond);

// Worker::adopt of a flip snapshot: same PoolSnapshots, so the worker keeps its WorkerPools
// and balancers; it rebuilds its pool maps and the live-backend set.
void BM_WorkerAdoptFlip(benchmark::State& state) {
  auto config = makeConfig(static_cast<int>(state.range(0)), 1);
  if (config == nullptr) return state.SkipWithError("bad configuration");
  SnapshotBuilder builder;
  TrafficState traffic;
  traffic.reconcile(*config);
  ConfigSnapshotPtr blue = builder.build(config, &traffic);
  (void)traffic.switchTo("r0", "green", *config);
  ConfigSnapshotPtr green = builder.build(config, &traffic);
  proxy::Worker worker(0, {});
  worker.adopt(blue);
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    worker.adopt(flip ? green : blue);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorkerAdoptFlip)->ArgName("backends")->Arg(2)->Arg(16)->Arg(256);

// Worker::adopt after a reload: new PoolSnapshots, so new WorkerPools and balancers (the
// per-backend connection pools are kept: same backend ids).
void adoptReload(benchmark::State& state, const char* balancer) {
  const int backends = static_cast<int>(state.range(0));
  auto a = makeConfig(backends, 1, balancer);
  auto b = makeConfig(backends, 1, balancer);
  if (a == nullptr || b == nullptr) return state.SkipWithError("bad configuration");
  SnapshotBuilder builder;
  ConfigSnapshotPtr first = builder.build(a);
  ConfigSnapshotPtr second = builder.build(b);
  proxy::Worker worker(0, {});
  worker.adopt(first);
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    worker.adopt(flip ? second : first);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_WorkerAdoptReload(benchmark::State& state) { adoptReload(state, "round_robin"); }
BENCHMARK(BM_WorkerAdoptReload)
    ->ArgName("backends")
    ->Arg(2)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond);

void BM_WorkerAdoptReloadLeastRequest(benchmark::State& state) {
  adoptReload(state, "least_request");
}
BENCHMARK(BM_WorkerAdoptReloadLeastRequest)
    ->ArgName("backends")
    ->Arg(2)
    ->Arg(16)
    ->Arg(256)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sy::routing
