// Running out of file descriptors is not silent: accepts that fail are counted in a metric and
// logged (at most once a second), and the proxy serves again once descriptors free up.

#include <sys/resource.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

class FdLimitTest : public AdminProxyTest {};

// UBSan's vptr check probes memory through a pipe(2) of its own (IsAccessibleMemoryRange): in a
// process that is out of descriptors the probe fails and a sound virtual call is reported as
// "object has invalid vptr" (seen under CI's sanitizer build, confirmed with strace: pipe2 ->
// EMFILE). That is the sanitizer running out of descriptors, not the proxy, so this one proxy runs
// with UBSan reports non-fatal; ASan's memory errors stay fatal.
ChildProcess::Env outOfDescriptorsEnv() {
  if (!kSanitizerBuild) return {};
  const char* existing = std::getenv("UBSAN_OPTIONS");
  const std::string options = existing != nullptr ? std::string(existing) + ":" : std::string();
  return {{"UBSAN_OPTIONS", options + "halt_on_error=0"}};
}

TEST_F(FdLimitTest, AcceptsFailingForLackOfDescriptorsAreCountedAndLogged) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyToml(simpleConfig({.backends = {backendPort(0)}}), outOfDescriptorsEnv()));
  ASSERT_NO_FATAL_FAILURE(learnAdminPort());
  // Leave the running proxy a few dozen descriptors above what it holds now.
  size_t open_now = 0;
  for (int fd = 0; fd < 65536; ++fd) {
    const std::string path = absl::StrCat("/proc/", proxy_.process->pid(), "/fd/", fd);
    if (::access(path.c_str(), F_OK) == 0) ++open_now;
  }
  ASSERT_GT(open_now, 0u);
  // Only the soft limit moves: raising a hard limit again needs a privilege tests may lack.
  rlimit old{};
  ASSERT_EQ(::prlimit(proxy_.process->pid(), RLIMIT_NOFILE, nullptr, &old), 0) << strerror(errno);
  const rlimit limit{.rlim_cur = open_now + 24, .rlim_max = old.rlim_max};
  ASSERT_EQ(::prlimit(proxy_.process->pid(), RLIMIT_NOFILE, &limit, nullptr), 0) << strerror(errno);

  // More connections than it has descriptors for: some are refused at accept.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 64; ++i) {
    auto client = std::make_unique<HttpClient>(seconds(2));
    if (client->connect(port())) clients.push_back(std::move(client));
  }
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "accept_failed_fd_limit", seconds(10)).has_value())
      << "an accept that fails for lack of descriptors must be logged";

  clients.clear();
  ASSERT_EQ(::prlimit(proxy_.process->pid(), RLIMIT_NOFILE, &old, nullptr), 0) << strerror(errno);
  // Descriptors are back: the metric shows what was refused, and requests are served again.
  bool counted = waitUntil(
      [&] {
        absl::StatusOr<Exposition> metrics = scrapeMetrics(admin_port_);
        return metrics.ok() && metrics->sum("switchyard_downstream_accept_failures_total",
                                            {{"reason", "fd_limit"}}) > 0;
      },
      seconds(10));
  EXPECT_TRUE(counted) << "switchyard_downstream_accept_failures_total{reason=\"fd_limit\"}";
  bool served = waitUntil(
      [&] {
        HttpClient client(seconds(2));
        if (!client.connect(port())) return false;
        std::optional<Response> response = client.request("GET", "/");
        return response.has_value() && response->status == 200;
      },
      seconds(10));
  EXPECT_TRUE(served);
  // Logged at most once a second, however many accepts failed.
  size_t lines = 0;
  const std::string output = proxy_.process->output();
  for (size_t at = output.find("\"accept_failed_fd_limit\""); at != std::string::npos;
       at = output.find("\"accept_failed_fd_limit\"", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 30u);
}

}  // namespace
}  // namespace sy::testing
