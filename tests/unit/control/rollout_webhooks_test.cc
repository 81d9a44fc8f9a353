// The rollout webhooks: the spec's "webhooks" object and its URLs, the gate in the state machine
// (simulated time), and the control loop's client against a real receiver on 127.0.0.1.

#include <chrono>
#include <optional>

#include "absl/time/clock.h"
#include "core/loop_context.h"
#include "gtest/gtest.h"
#include "proxy/control/rollout.h"
#include "proxy/control/webhook_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/webhook_receiver.h"

namespace sy::proxy::control {
namespace {

using Kind = RolloutAction::Kind;

nlohmann::json webhookBody(const nlohmann::json& webhooks) {
  return {{"route", "web"},
          {"pool", "green"},
          {"steps", {{{"weight", 10}, {"hold", "1s"}}, {{"weight", 100}, {"hold", "1s"}}}},
          {"analysis", {{"interval", "1s"}, {"min_requests", 100}, {"max_error_rate", 0.01}}},
          {"webhooks", webhooks}};
}

std::string webhookError(const nlohmann::json& webhooks) {
  absl::StatusOr<RolloutSpec> parsed = parseRolloutSpec(webhookBody(webhooks), "");
  return parsed.ok() ? "ok" : std::string(parsed.status().message());
}

WindowFigures passingWindow() {
  PoolReading after;
  after.responses[1] = 1000;
  after.duration.buckets[2] = 1000;
  return WindowFigures::between(PoolReading{}, after, kErrorClass5xx);
}

WindowFigures failingWindow() {
  PoolReading after;
  after.responses[1] = 800;
  after.responses[4] = 200;
  after.duration.buckets[2] = 1000;
  return WindowFigures::between(PoolReading{}, after, kErrorClass5xx);
}

TEST(RolloutWebhookSpecTest, UrlsTimeoutsAndRetriesParseAndRoundTrip) {
  absl::StatusOr<RolloutSpec> spec = parseRolloutSpec(
      webhookBody(
          {{"gate", {{"url", "http://127.0.0.1:8090/gate?x=1"}, {"timeout", "2s"}, {"retries", 0}}},
           {"notify", "http://hooks.internal/events"}}),
      "");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->webhooks.gate.has_value());
  EXPECT_EQ(spec->webhooks.gate->host, "127.0.0.1");
  EXPECT_EQ(spec->webhooks.gate->port, 8090);
  EXPECT_EQ(spec->webhooks.gate->target, "/gate?x=1");
  EXPECT_EQ(spec->webhooks.gate->timeout_ms, 2000u);
  EXPECT_EQ(spec->webhooks.gate->retries, 0u);
  ASSERT_TRUE(spec->webhooks.notify.has_value());
  EXPECT_EQ(spec->webhooks.notify->host, "hooks.internal");
  EXPECT_EQ(spec->webhooks.notify->port, 80);
  EXPECT_EQ(spec->webhooks.notify->target, "/events");
  EXPECT_EQ(spec->webhooks.notify->timeout_ms, 5000u) << "the default";
  EXPECT_EQ(spec->webhooks.notify->retries, 2u) << "the default";

  absl::StatusOr<WebhookSpec> v6 = parseWebhookUrl("http://[::1]:81", "f");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->target, "/");

  // The state file keeps the webhooks: toJson parses back to the same spec.
  absl::StatusOr<RolloutSpec> again = parseRolloutSpec(spec->toJson(), "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->toJson(), spec->toJson());
  // A spec without webhooks shows none.
  nlohmann::json plain = webhookBody({});
  plain.erase("webhooks");
  EXPECT_FALSE(parseRolloutSpec(plain, "")->toJson().contains("webhooks"));
}

TEST(RolloutWebhookSpecTest, BadWebhooksAreRefusedWithTheFieldNamed) {
  EXPECT_EQ(webhookError({{"gate", {{"url", "https://gate.example/x"}}}}),
            "webhooks.gate.url: \"https://gate.example/x\": only http:// webhooks are supported");
  EXPECT_EQ(webhookError({{"gate", {{"url", "ftp://x"}}}}),
            "webhooks.gate.url: \"ftp://x\" is not an http:// URL such as "
            "\"http://127.0.0.1:8090/gate\"");
  EXPECT_EQ(webhookError({{"notify", {{"url", "http://127.0.0.1:0/x"}}}}),
            "webhooks.notify.url: \"http://127.0.0.1:0/x\" has an invalid port: expected 1-65535");
  EXPECT_EQ(webhookError({{"notify", {{"url", "http://127.0.0.1:99999"}}}}).substr(0, 20),
            "webhooks.notify.url:");
  EXPECT_EQ(webhookError({{"notify", {{"url", "http:///path"}}}}),
            "webhooks.notify.url: \"http:///path\" has no valid host");
  EXPECT_EQ(webhookError({{"notify", {{"url", "http://user:pw@host/"}}}}),
            "webhooks.notify.url: \"http://user:pw@host/\": credentials in the URL are not "
            "supported");
  EXPECT_EQ(webhookError({{"notify", {{"url", "http://host/a b"}}}}).substr(0, 20),
            "webhooks.notify.url:");
  EXPECT_EQ(webhookError({{"gate", {{"timeout", "2s"}}}}),
            "webhooks.gate.url: an http:// URL such as \"http://127.0.0.1:8090/gate\"");
  EXPECT_EQ(webhookError({{"gate", {{"url", "http://h/"}, {"timeout", "10ms"}}}}),
            "webhooks.gate.timeout: a duration between 100ms and 1m such as \"2s\"");
  EXPECT_EQ(webhookError({{"gate", {{"url", "http://h/"}, {"retries", -1}}}}),
            "webhooks.gate.retries: an integer in 0..10");
  EXPECT_EQ(webhookError({{"gate", {{"url", "http://h/"}, {"method", "GET"}}}}),
            "webhooks.gate.method: unknown key");
  EXPECT_EQ(webhookError({{"rollback", "http://h/"}}),
            "webhooks.rollback: unknown key (gate, notify)");
  EXPECT_EQ(webhookError("http://h/"), "webhooks: an object with \"gate\" and/or \"notify\"");
}

RolloutSpec gatedSpec() {
  absl::StatusOr<RolloutSpec> spec =
      parseRolloutSpec(webhookBody({{"gate", "http://127.0.0.1:1/gate"}}), "");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

TEST(RolloutGateTest, AStepAdvancesOnlyOnTheGatesGo) {
  Rollout rollout(gatedSpec(), "blue");
  EXPECT_EQ(rollout.start(0).weight, 10);
  // The hold is over at 1 s: the gate is asked instead of advancing.
  RolloutAction action = rollout.onWindow(1000, passingWindow(), passingWindow());
  EXPECT_EQ(action.kind, Kind::kAskGate);
  EXPECT_TRUE(rollout.gatePending());
  const uint64_t first = rollout.gateTicket();
  // While the question is open, passing windows do not ask again.
  EXPECT_EQ(rollout.onWindow(2000, passingWindow(), passingWindow()).kind, Kind::kNone);
  // A refusal holds the step; the next passing window asks again.
  EXPECT_EQ(rollout.onGate(first, 2100, false).kind, Kind::kNone);
  EXPECT_EQ(rollout.step(), 0u);
  EXPECT_EQ(rollout.weight(), 10);
  EXPECT_EQ(rollout.onWindow(3000, passingWindow(), passingWindow()).kind, Kind::kAskGate);
  const uint64_t second = rollout.gateTicket();
  EXPECT_NE(first, second);
  EXPECT_EQ(rollout.onGate(first, 3050, true).kind, Kind::kNone) << "a stale answer";
  action = rollout.onGate(second, 3100, true);
  EXPECT_EQ(action.kind, Kind::kSetWeight);
  EXPECT_EQ(action.weight, 100);
  // The last step's end is gated too: success (promote) waits for a go.
  EXPECT_EQ(rollout.onWindow(4100, passingWindow(), WindowFigures{}).kind, Kind::kAskGate);
  EXPECT_EQ(rollout.onGate(rollout.gateTicket(), 4200, true).kind, Kind::kPromote);
  EXPECT_EQ(rollout.phase(), RolloutPhase::kSucceeded);
}

TEST(RolloutGateTest, TheGateNeverDelaysARollbackOrAnOperator) {
  Rollout rollout(gatedSpec(), "blue");
  rollout.start(0);
  ASSERT_EQ(rollout.onWindow(1000, passingWindow(), passingWindow()).kind, Kind::kAskGate);
  const uint64_t ticket = rollout.gateTicket();
  // Failed windows roll back while the gate is still being asked.
  EXPECT_EQ(rollout.onWindow(2000, failingWindow(), passingWindow()).kind, Kind::kNone);
  EXPECT_EQ(rollout.onWindow(3000, failingWindow(), passingWindow()).kind, Kind::kRollBack);
  EXPECT_EQ(rollout.onGate(ticket, 3100, true).kind, Kind::kNone) << "too late: rolled back";
  EXPECT_EQ(rollout.phase(), RolloutPhase::kRolledBack);

  Rollout skipped(gatedSpec(), "blue");
  skipped.start(0);
  ASSERT_EQ(skipped.onWindow(1000, passingWindow(), passingWindow()).kind, Kind::kAskGate);
  const uint64_t asked = skipped.gateTicket();
  EXPECT_EQ(skipped.skip(1100)->weight, 100) << "an operator's skip is not gated";
  EXPECT_EQ(skipped.onGate(asked, 1200, true).kind, Kind::kNone) << "the step changed";
  EXPECT_EQ(skipped.step(), 1u);

  Rollout paused(gatedSpec(), "blue");
  paused.start(0);
  ASSERT_EQ(paused.onWindow(1000, passingWindow(), passingWindow()).kind, Kind::kAskGate);
  ASSERT_TRUE(paused.pause(1100).ok());
  EXPECT_EQ(paused.onGate(paused.gateTicket(), 1200, true).kind, Kind::kNone);
  EXPECT_EQ(paused.step(), 0u) << "a pause outranks the gate";
}

// The client on a real loop against a real receiver.
class WebhookClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    context_ = std::make_unique<core::LoopContext>(&loop_);
    client_.start(&loop_);
  }
  void TearDown() override {
    client_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  std::optional<WebhookOutcome> post(const std::string& url, uint32_t retries) {
    absl::StatusOr<WebhookSpec> hook = parseWebhookUrl(url, "url");
    EXPECT_TRUE(hook.ok()) << hook.status();
    hook->retries = retries;
    hook->timeout_ms = 5000;
    std::optional<WebhookOutcome> outcome;
    client_.post(*hook, {{"hello", "world"}}, [&](const WebhookOutcome& o) { outcome = o; });
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t*) {}, 5, 5);
    while (!outcome && absl::Now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return outcome;
  }

  uv_loop_t loop_{};
  std::unique_ptr<core::LoopContext> context_;
  WebhookClient client_;
};

TEST_F(WebhookClientTest, PostsTheBodyAndReadsTheStatus) {
  testing::WebhookReceiver receiver(204);
  std::optional<WebhookOutcome> outcome = post(receiver.url("/gate"), 2);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok) << outcome->error;
  EXPECT_EQ(outcome->status, 204);
  EXPECT_EQ(outcome->attempts, 1u);
  ASSERT_EQ(receiver.count(), 1u);
  EXPECT_EQ(receiver.calls()[0].target, "/gate");
  EXPECT_EQ(receiver.calls()[0].body, nlohmann::json({{"hello", "world"}}));
}

TEST_F(WebhookClientTest, ANon2xxIsRetriedThenRejected) {
  testing::WebhookReceiver receiver(500);
  std::optional<WebhookOutcome> outcome = post(receiver.url("/gate"), 2);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->ok);
  EXPECT_EQ(outcome->status, 500);
  EXPECT_STREQ(outcome->result(), "rejected");
  EXPECT_EQ(outcome->attempts, 3u);
  EXPECT_EQ(receiver.count(), 3u);
}

TEST_F(WebhookClientTest, NobodyListeningIsAnError) {
  uint16_t port = 0;
  const int fd = testing::listenOnLoopback(1, &port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // the port is free again: connections are refused
  std::optional<WebhookOutcome> outcome =
      post(absl::StrCat("http://127.0.0.1:", port, "/events"), 1);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->ok);
  EXPECT_EQ(outcome->status, 0);
  EXPECT_STREQ(outcome->result(), "error");
  EXPECT_EQ(outcome->attempts, 2u);
  EXPECT_NE(outcome->error.find("connect"), std::string::npos) << outcome->error;
}

}  // namespace
}  // namespace sy::proxy::control
