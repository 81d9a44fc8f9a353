// Paths are brought to normal form before routing (issue 10): "/public/../admin/echo" and its
// percent-encoded variants must reach the route that owns "/admin/", never slip through the
// "/public/" route to a backend that resolves them to "/admin/..." itself. Each listener below
// uses another setting: forward (the default), reject, and merge_slashes off with encoded
// slashes allowed.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

class ProxyPathsTest : public ProxyTest {
 protected:
  void SetUp() override {
    // --log-requests: every backend logs the target it received.
    ASSERT_NO_FATAL_FAILURE(startBackend("public", {"--log-requests"}));
    ASSERT_NO_FATAL_FAILURE(startBackend("admin", {"--log-requests"}));
    ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(R"([server]
workers = 1

[[listeners]]
name = "forward"
listen = "127.0.0.1:0"

[[listeners]]
name = "reject"
listen = "127.0.0.1:0"
path_normalization = "reject"

[[listeners]]
name = "lenient"
listen = "127.0.0.1:0"
merge_slashes = false
allow_encoded_slash = true

[[pools]]
name = "public"
backends = )",
                                                        backendList({backendPort(0)}), R"(

[[pools]]
name = "admin"
backends = )",
                                                        backendList({backendPort(1)}), R"(

[[routes]]
name = "admin"
path_prefix = "/admin/"
pool = "admin"

[[routes]]
name = "public"
path_prefix = "/public/"
pool = "public"
)")));
  }

  struct Outcome {
    int status = 0;
    std::string backend;  // the demo backend's body names it; "" for the proxy's own answer
    std::string target;   // what that backend received
  };

  // Sends GET `target` to the listener `listener` on a fresh connection. The backend's log
  // says what target it received; every target a test sends is unique, so the log line that
  // answers it is the one after `lines_before` with the backend's name.
  Outcome send(const std::string& listener, const std::string& target) {
    Outcome outcome;
    const std::vector<size_t> lines_before = {backends_[0]->process->lines().size(),
                                              backends_[1]->process->lines().size()};
    HttpClient client;
    if (!client.connect(proxy_.ports.at(listener))) {
      ADD_FAILURE() << client.lastError();
      return outcome;
    }
    std::optional<Response> response = client.request("GET", target, {{"Host", "app.example"}});
    if (!response.has_value()) {
      ADD_FAILURE() << target << ": " << client.lastError();
      return outcome;
    }
    outcome.status = response->status;
    if (response->header("Server") == "switchyard") return outcome;
    outcome.backend = response->body.substr(0, response->body.find('\n'));
    const size_t index = outcome.backend == "admin" ? 1 : 0;
    // The tests' own /control/stats calls are logged too, and their lines may land after
    // lines_before was taken: skip them.
    const std::optional<std::string> line = backends_[index]->process->waitForLine(
        [](const std::string& text) {
          const std::optional<nlohmann::json> event = parseJsonLogLine(text);
          return event.has_value() && event->value("event", "") == "request_received" &&
                 event->value("target", "") != "/control/stats";
        },
        std::chrono::seconds(10), lines_before[index]);
    if (!line.has_value()) {
      ADD_FAILURE() << "no request_received from " << outcome.backend;
      return outcome;
    }
    outcome.target = (*parseJsonLogLine(*line))["target"].get<std::string>();
    return outcome;
  }
};

TEST_F(ProxyPathsTest, DotSegmentsCannotClimbOutOfAPrefixRoute) {
  for (const char* target :
       {"/public/../admin/echo", "/public/%2e%2e/admin/echo", "/public/%2E%2e/admin/echo",
        "/public/.%2E/admin/echo", "/public/./x/../../admin/echo", "/public//../admin/echo"}) {
    const Outcome outcome = send("forward", target);
    EXPECT_EQ(outcome.status, 200) << target;
    EXPECT_EQ(outcome.backend, "admin") << target;
    EXPECT_EQ(outcome.target, "/admin/echo") << target;
  }
}

TEST_F(ProxyPathsTest, TheNormalFormIsForwardedWithTheQueryUntouched) {
  Outcome outcome = send("forward", "/public/a/./%41%62c/../d%3f//e?q=/../%2e%2E//x&y=%2F");
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/a/d%3F/e?q=/../%2e%2E//x&y=%2F");
  // A path already in normal form is forwarded byte for byte.
  outcome = send("forward", "/public/plain%20path?x=1");
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/plain%20path?x=1");
  // Absolute-form: its path is normalised too, and routed on.
  outcome = send("forward", "http://app.example/public/%2e%2e/admin/x");
  EXPECT_EQ(outcome.backend, "admin");
  EXPECT_EQ(outcome.target, "/admin/x");
}

TEST_F(ProxyPathsTest, DangerousPathsAreRefusedWith400) {
  for (const char* target :
       {"/../admin/echo", "/public/../../admin/echo", "/public/%2e%2e/..",
        "/public/..%2fadmin/echo", "/public/..%2Fadmin/echo", "/public/..%5cadmin/echo",
        "/public/a%00b", "/public/a%zz", "/public/a%4"}) {
    const Outcome outcome = send("forward", target);
    EXPECT_EQ(outcome.status, 400) << target;
    EXPECT_EQ(outcome.backend, "") << target << " was forwarded";
  }
  EXPECT_EQ(stats(0).requests + stats(1).requests, 0u);
}

TEST_F(ProxyPathsTest, RejectModeRefusesPathsNotInNormalForm) {
  for (const char* target : {"/public/../admin/echo", "/public/%2e%2e/admin/echo", "/public/./x",
                             "/public//x", "/public/x/.."}) {
    const Outcome outcome = send("reject", target);
    EXPECT_EQ(outcome.status, 400) << target;
    EXPECT_EQ(outcome.backend, "") << target << " was forwarded";
  }
  EXPECT_EQ(stats(0).requests + stats(1).requests, 0u);
  // Only encodings differ: the same resource (RFC 3986 §6.2.2), forwarded in normal form.
  const Outcome outcome = send("reject", "/public/%41b%3f?x=/..");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/Ab%3F?x=/..");
}

TEST_F(ProxyPathsTest, EncodedSlashesAndDoubleSlashesCanBeKept) {
  // merge_slashes = false: the empty segment counts, so ".." only removes it.
  Outcome outcome = send("lenient", "/public//../admin/echo");
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/admin/echo");
  // allow_encoded_slash = true: kept encoded, and never a separator for ".." to climb over.
  outcome = send("lenient", "/public/..%2fadmin/echo");
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/..%2Fadmin/echo");
  outcome = send("lenient", "/public/a%2Fb//c");
  EXPECT_EQ(outcome.backend, "public");
  EXPECT_EQ(outcome.target, "/public/a%2Fb//c");
  // What is refused everywhere stays refused.
  EXPECT_EQ(send("lenient", "/public/a%00").status, 400);
  EXPECT_EQ(send("lenient", "/../admin/echo").status, 400);
}

}  // namespace
}  // namespace sy::testing
