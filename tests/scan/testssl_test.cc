// testssl.sh (the Debian package's /usr/bin/testssl) against an HTTPS listener of a running
// Switchyard, as issue 12 asks for CI: no finding rated HIGH or CRITICAL. The certificate is
// the tests' (private CA passed with --add-ca, 400 days, a CRL distribution point), so what is
// rated is the server's TLS configuration. A release-build test only (tests/CMakeLists.txt does
// not register it under sanitizers: they slow the server so much that the scan's timeouts
// would judge the sanitizer); it skips, saying why, where testssl is not installed.

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/nginx_server.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/test_certificates.h"

namespace sy::testing {
namespace {

using std::chrono::seconds;

class TestsslTest : public ProxyTest {};

TEST_F(TestsslTest, NoHighOrCriticalFinding) {
  if (kSanitizerBuild) GTEST_SKIP() << "testssl runs in the release build only";
  const std::string testssl = findProgram("testssl");
  if (testssl.empty()) {
    GTEST_SKIP() << "testssl is not installed (Debian package testssl.sh; scripts/setup.sh "
                    "--test installs it): the TLS scan did not run";
  }
  auto certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  auto rsa = (*certificates)->issue("rsa", KeyType::kRsa, {"localhost"});
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  auto ecdsa = (*certificates)->issue("ecdsa", KeyType::kEcdsa, {"localhost"});
  ASSERT_TRUE(ecdsa.ok()) << ecdsa.status();
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  // The defaults, as a user gets them: nothing TLS-related is tuned here. A short
  // header_timeout (which also cuts a stalled handshake) keeps probes for SSLv2/SSLv3 and the
  // like, which the server never answers, from waiting out the default.
  ASSERT_NO_FATAL_FAILURE(startProxyToml(absl::StrCat(
      "[[listeners]]\nname = \"https\"\nlisten = \"127.0.0.1:0\"\nheader_timeout = \"2s\"\n"
      "tls = { certificates = [ { cert = \"",
      rsa->cert, "\", key = \"", rsa->key, "\" }, { cert = \"", ecdsa->cert, "\", key = \"",
      ecdsa->key, "\" } ] }\n\n[[pools]]\nname = \"app\"\nbackends = ",
      backendList({backendPort(0)}), "\n\n[[routes]]\nname = \"default\"\npool = \"app\"\n")));

  TempDir out;
  const std::string json_path = out.file("testssl.json");
  // About 270 s on a shared 2-core machine even so (measured); the bound leaves room.
  // --fast skips the slowest checks (each cipher one by one, and a few vulnerability probes
  // that take minutes); protocols, cipher categories, server preferences, the certificate,
  // headers and the other vulnerabilities still run. --ip: localhost must not resolve to ::1.
  const Clock::time_point started = Clock::now();
  absl::StatusOr<std::unique_ptr<ChildProcess>> scan =
      ChildProcess::start({testssl, "--quiet", "--color", "0", "--warnings", "batch", "--fast",
                           "--ip", "127.0.0.1", "--add-ca", (*certificates)->rootCa(), "--jsonfile",
                           json_path, absl::StrCat("localhost:", port())},
                          {{"TERM", "dumb"}});
  ASSERT_TRUE(scan.ok()) << scan.status();
  const std::optional<int> exit_code = (*scan)->waitExit(seconds(420));
  std::printf("testssl took %ld ms (exit %d)\n", elapsedMs(started), exit_code.value_or(-1));
  ASSERT_FALSE((*scan)->running()) << "testssl did not finish in time:\n" << (*scan)->output();

  std::ifstream in(json_path);
  ASSERT_TRUE(in.good()) << "no JSON from testssl:\n" << (*scan)->output();
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json findings = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_TRUE(findings.is_array()) << text.str();
  ASSERT_GT(findings.size(), 20u) << "too few findings: did the scan reach the server?\n"
                                  << text.str();
  std::vector<std::string> bad;
  bool saw_protocols = false;
  for (const nlohmann::json& finding : findings) {
    const std::string severity = finding.value("severity", "");
    const std::string id = finding.value("id", "");
    if (id == "TLS1_3") saw_protocols = true;
    if (id == "scanProblem") bad.push_back(absl::StrCat(id, ": ", finding.value("finding", "")));
    if (severity == "HIGH" || severity == "CRITICAL") {
      bad.push_back(absl::StrCat(id, " (", severity, "): ", finding.value("finding", "")));
    }
  }
  EXPECT_TRUE(saw_protocols) << text.str();
  EXPECT_TRUE(bad.empty()) << "testssl findings:\n  " << absl::StrJoin(bad, "\n  ");
}

}  // namespace
}  // namespace sy::testing
