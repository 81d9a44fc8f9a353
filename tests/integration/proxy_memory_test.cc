// Streaming with backpressure: very large bodies in both directions, and a client that stops
// reading, must not grow the proxy's memory.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/digest.h"
#include "tests/support/http_client.h"
#include "tests/support/sizes.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

constexpr long kMaxGrowthKiB = 64 * 1024;
// Far more than any buffer in the proxy. Fast enough under ASan too (about 1 s per 256 MiB
// through the sanitized proxy on the 2-core CI machine), so both builds stream the full size.
constexpr uint64_t kLargeBody = 1024 * kMiB;
constexpr uint64_t kStalledBody = 512 * kMiB;

// Samples a process's RSS on a thread until destroyed; keeps the largest value.
class RssSampler {
 public:
  explicit RssSampler(const ChildProcess& process)
      : thread_([this, &process] {
          while (!stop_.load()) {
            const long rss = process.rssKiB();
            if (rss > max_.load()) max_.store(rss);
            std::this_thread::sleep_for(milliseconds(10));
          }
        }) {}
  ~RssSampler() { stopSampling(); }
  void stopSampling() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  long maxKiB() const { return max_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> max_{-1};
  std::thread thread_;
};

class ProxyMemoryTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}}, memoryTestEnv()));
    // Warm up (first connection, first buffers) before the baseline is taken.
    HttpClient client;
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    ASSERT_TRUE(client.request("POST", "/echo", {}, testBody(100000)).has_value());
    ASSERT_TRUE(client.request("GET", "/bytes/1000000").has_value());
    baseline_kib_ = proxy_.process->rssKiB();
    ASSERT_GT(baseline_kib_, 0);
  }

  long baseline_kib_ = 0;
};

TEST_F(ProxyMemoryTest, LargeUploadStreamsWithFlatMemory) {
  HttpClient client(milliseconds(30000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(
      client.buildRequest("POST", "/echo", {{"Content-Length", std::to_string(kLargeBody)}})));
  const std::string block = testBody(kMiB, 3);
  Sha256 sent;
  {
    RssSampler sampler(*proxy_.process);
    for (uint64_t i = 0; i < kLargeBody / kMiB; ++i) {
      ASSERT_TRUE(client.sendRaw(block)) << "after " << i << " MiB: " << client.lastError();
      sent.update(block);
    }
    std::optional<Response> response = client.readResponse();
    ASSERT_TRUE(response.has_value()) << client.lastError();
    sampler.stopSampling();
    EXPECT_EQ(response->status, 200);
    const std::optional<nlohmann::json> json = parseJson(response->body);
    ASSERT_TRUE(json.has_value()) << response->body;
    EXPECT_EQ((*json)["body_bytes"], kLargeBody);
    EXPECT_EQ((*json)["body_sha256"], sent.finishHex());
    EXPECT_LT(sampler.maxKiB() - baseline_kib_, kMaxGrowthKiB)
        << "baseline " << baseline_kib_ << " KiB, peak " << sampler.maxKiB() << " KiB";
  }
}

TEST_F(ProxyMemoryTest, LargeDownloadStreamsWithFlatMemory) {
  HttpClient client(milliseconds(30000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/bytes/" + std::to_string(kLargeBody))));
  RssSampler sampler(*proxy_.process);
  std::optional<Response> response = client.readResponseDigest();
  sampler.stopSampling();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body_bytes, kLargeBody);
  EXPECT_EQ(response->body_sha256, patternDigest(kLargeBody));
  EXPECT_LT(sampler.maxKiB() - baseline_kib_, kMaxGrowthKiB)
      << "baseline " << baseline_kib_ << " KiB, peak " << sampler.maxKiB() << " KiB";
}

TEST_F(ProxyMemoryTest, StalledClientDoesNotGrowMemory) {
  HttpClient client(milliseconds(30000));
  ASSERT_NO_FATAL_FAILURE(connect(&client));
  ASSERT_TRUE(client.sendRaw(client.buildRequest("GET", "/bytes/" + std::to_string(kStalledBody))));
  {
    // Read nothing: the proxy must stop reading the backend once the client's socket is full,
    // not buffer the body.
    RssSampler sampler(*proxy_.process);
    std::this_thread::sleep_for(milliseconds(2000));
    sampler.stopSampling();
    EXPECT_LT(sampler.maxKiB() - baseline_kib_, kMaxGrowthKiB)
        << "baseline " << baseline_kib_ << " KiB, peak while stalled " << sampler.maxKiB()
        << " KiB";
  }
  RssSampler sampler(*proxy_.process);
  std::optional<Response> response = client.readResponseDigest();
  sampler.stopSampling();
  ASSERT_TRUE(response.has_value()) << client.lastError();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body_bytes, kStalledBody);
  EXPECT_EQ(response->body_sha256, patternDigest(kStalledBody));
  EXPECT_LT(sampler.maxKiB() - baseline_kib_, kMaxGrowthKiB)
      << "baseline " << baseline_kib_ << " KiB, peak while reading " << sampler.maxKiB() << " KiB";
}

}  // namespace
}  // namespace sy::testing
