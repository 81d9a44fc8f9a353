// A short load run with wrk: 64 keep-alive connections for 2 s through the proxy must see no
// socket error and no error status.

#include <unistd.h>

#include <optional>
#include <regex>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

std::string findWrk() {
  for (const char* candidate : {"/usr/bin/wrk", "/usr/local/bin/wrk"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

class ProxyLoadTest : public ProxyTest {};

TEST_F(ProxyLoadTest, WrkSeesNoErrors) {
  const std::string wrk = findWrk();
  ASSERT_FALSE(wrk.empty()) << "wrk is required for this test (Debian package wrk; "
                               "scripts/setup.sh --test installs it); it was not found";
  ASSERT_NO_FATAL_FAILURE(startBackend("blue", {"--threads", "2"}));
  ASSERT_NO_FATAL_FAILURE(startProxy({.backends = {backendPort(0)}, .workers = 2}));

  absl::StatusOr<std::unique_ptr<ChildProcess>> run =
      ChildProcess::start({wrk, "-t2", "-c64", "-d2s", "--timeout", "5s",
                           "http://127.0.0.1:" + std::to_string(port()) + "/"});
  ASSERT_TRUE(run.ok()) << run.status();
  const std::optional<int> code = (*run)->waitExit(milliseconds(20000));
  ASSERT_TRUE(code.has_value()) << "wrk did not finish";
  // Its output is complete once it exited and its streams are closed.
  (*run)->waitForLine([](const std::string&) { return false; }, milliseconds(2000));
  const std::string output = (*run)->output();
  ASSERT_EQ(*code, 0) << output;

  // "  41234 requests in 2.00s, 5.43MB read"
  std::smatch match;
  ASSERT_TRUE(std::regex_search(output, match, std::regex(R"((\d+) requests in)"))) << output;
  const long requests = std::stol(match[1]);
  // Far below what even the sanitizer build does: it only shows that traffic really flowed.
  EXPECT_GT(requests, 500) << output;
  // wrk prints these lines only when something went wrong; with zeros if it prints them anyway.
  if (std::regex_search(output, match,
                        std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), )"
                                   R"(timeout (\d+))"))) {
    for (size_t i = 1; i <= 4; ++i) EXPECT_EQ(match[i], "0") << output;
  }
  EXPECT_EQ(output.find("Non-2xx or 3xx responses"), std::string::npos) << output;
  // wrk counts completed requests; up to one per connection was still in flight when it
  // stopped. None may have been lost or sent twice beyond that.
  const uint64_t reached = stats(0).requests;
  EXPECT_GE(reached, static_cast<uint64_t>(requests)) << output;
  EXPECT_LE(reached, static_cast<uint64_t>(requests) + 64) << output;
}

}  // namespace
}  // namespace sy::testing
