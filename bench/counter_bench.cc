// Per-request counter increments: the per-worker core::LocalCounter (one writer: relaxed load +
// store, no read-modify-write) against a shared std::atomic fetch_add and prometheus-cpp's
// Counter::Increment (an atomic<double> CAS loop). The Threads(2) variants show what sharing one
// counter between two workers costs: each thread increments its own LocalCounter (as every
// worker has its own WorkerStats) but the same atomic / prometheus counter. On a shared machine
// the 2-thread figures are noisy; compare them within one run.

#include <atomic>
#include <cstdint>
#include <memory>

#include "benchmark/benchmark.h"
#include "core/local_counter.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace sy::core {
namespace {

constexpr int kBatch = 64;  // increments per timed iteration: keeps the loop overhead out

struct alignas(64) PaddedLocalCounter {
  LocalCounter counter;
};
PaddedLocalCounter g_local[64];  // one per benchmark thread, on its own cache line

void BM_LocalCounterAdd(benchmark::State& state) {
  LocalCounter& counter = g_local[state.thread_index()].counter;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) counter.add();
  }
  benchmark::DoNotOptimize(counter.get());
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_LocalCounterAdd)->Threads(1)->Threads(2)->UseRealTime();

alignas(64) std::atomic<uint64_t> g_shared{0};

void BM_AtomicFetchAddRelaxed(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) g_shared.fetch_add(1, std::memory_order_relaxed);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_AtomicFetchAddRelaxed)->Threads(1)->Threads(2)->UseRealTime();

void BM_AtomicFetchAddSeqCst(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) g_shared.fetch_add(1);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_AtomicFetchAddSeqCst)->Threads(1)->Threads(2)->UseRealTime();

prometheus::Counter& sharedPrometheusCounter() {
  static auto* registry = new prometheus::Registry();
  static prometheus::Counter& counter = prometheus::BuildCounter()
                                            .Name("switchyard_bench_requests_total")
                                            .Help("benchmark")
                                            .Register(*registry)
                                            .Add({{"worker", "all"}});
  return counter;
}

void BM_PrometheusCounterIncrement(benchmark::State& state) {
  prometheus::Counter& counter = sharedPrometheusCounter();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) counter.Increment();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PrometheusCounterIncrement)->Threads(1)->Threads(2)->UseRealTime();

// prometheus-cpp with one label value per worker (its usual per-thread sharding): no sharing,
// but still a CAS loop on an atomic<double>.
void BM_PrometheusCounterPerThread(benchmark::State& state) {
  static auto* registry = new prometheus::Registry();
  static auto& family = prometheus::BuildCounter()
                            .Name("switchyard_bench_sharded_total")
                            .Help("benchmark")
                            .Register(*registry);
  static std::atomic<prometheus::Counter*> counters[2] = {nullptr, nullptr};
  if (state.thread_index() == 0) {
    counters[0] = &family.Add({{"worker", "0"}});
    counters[1] = &family.Add({{"worker", "1"}});
  }
  // Family::Add takes the family's lock; wait for thread 0's setup without touching it.
  while (counters[state.thread_index() % 2].load() == nullptr) {
  }
  prometheus::Counter& counter = *counters[state.thread_index() % 2].load();
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) counter.Increment();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PrometheusCounterPerThread)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sy::core
