// conf/rolling-update.sh against a real proxy and demo backends under keep-alive load: every
// backend replaced by a new process, one at a time, without a failed request; and the ways it
// stops safely.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/health_support.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

const std::string kScript = std::string(SY_SOURCE_DIR) + "/conf/rolling-update.sh";

// The update command of the test: replaces the demo backend of 127.0.0.1:PORT (its pid in
// DIR/PORT.pid) with a new process named "new-PORT". Every process it starts is appended to
// DIR/started.pids, for the test to stop. `timeout` bounds their life should the test die.
constexpr std::string_view kRestartScript = R"sh(#!/usr/bin/env bash
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
port="$1"
old="$(cat "$dir/$port.pid")"
kill -TERM "$old" 2> /dev/null || true
for _ in $(seq 1 500); do
  state="$(awk '{print $3}' "/proc/$old/stat" 2> /dev/null || true)"
  if [ -z "$state" ] || [ "$state" = Z ]; then break; fi
  sleep 0.02
done
log="$dir/$port.log"
timeout 120 "$SY_BIN" backend --name "new-$port" --listen "127.0.0.1:$port" > "$log" 2>&1 < /dev/null &
new=$!
echo "$new" >> "$dir/started.pids"
echo "$new" > "$dir/$port.pid"
for _ in $(seq 1 500); do
  if grep -q backend_listening "$log"; then exit 0; fi
  sleep 0.02
done
echo "the new backend on port $port did not start" >&2
exit 1
)sh";

const std::string kCheck =
    "[pools.health_check]\ninterval = \"100ms\"\ntimeout = \"200ms\"\n"
    "healthy_threshold = 2\nunhealthy_threshold = 3\n";

class RollingUpdateTest : public AdminProxyTest {
 protected:
  void SetUp() override {
    // The backends the update command starts outlive their bash: let them be our children, so
    // that they are reaped here.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }

  void TearDown() override {
    stopStartedBackends();
    AdminProxyTest::TearDown();
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }

  // SIGTERM to every process the update command started, reaped within 10 s (else SIGKILL).
  void stopStartedBackends() {
    std::ifstream in(dir_.file("started.pids"));
    std::vector<pid_t> pids;
    for (long pid; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
    for (pid_t pid : pids) ::kill(pid, SIGTERM);
    for (pid_t pid : pids) {
      const bool gone = waitUntil(
          [pid] {
            int status = 0;
            const pid_t rc = ::waitpid(pid, &status, WNOHANG);
            return rc == pid || (rc < 0 && ::kill(pid, 0) != 0);
          },
          std::chrono::seconds(10));
      if (!gone) {
        ADD_FAILURE() << "backend process " << pid << " did not stop on SIGTERM";
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }

  void writePidFile(size_t index) {
    dir_.writeFile(absl::StrCat(backendPort(index), ".pid"),
                   absl::StrCat(backends_[index]->process->pid(), "\n"));
  }

  pid_t pidInFile(size_t index) {
    std::ifstream in(dir_.file(absl::StrCat(backendPort(index), ".pid")));
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }

  // Runs the script with `args` and waits for it (60 s at most): its exit code.
  std::optional<int> runScript(std::vector<std::string> args, const ChildProcess::Env& env = {}) {
    std::vector<std::string> argv = {"bash", kScript, "--admin",
                                     absl::StrCat("http://127.0.0.1:", admin_port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess::Env full_env = env;
    full_env.emplace_back("SY_BIN", switchyardBinary());
    absl::StatusOr<std::unique_ptr<ChildProcess>> script = ChildProcess::start(argv, full_env);
    if (!script.ok()) {
      ADD_FAILURE() << script.status();
      return std::nullopt;
    }
    script_ = std::move(*script);
    std::optional<int> code = script_->waitExit(std::chrono::seconds(60));
    // Every line read: waitForLine returns once both streams closed.
    script_->waitForLine([](const std::string&) { return false; }, std::chrono::seconds(5));
    return code;
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> script_;
};

TEST_F(RollingUpdateTest, ReplacesEveryBackendOneAtATimeWithoutAFailedRequest) {
  constexpr size_t kBackends = 3;
  for (size_t i = 0; i < kBackends; ++i) {
    ASSERT_NO_FATAL_FAILURE(startBackend(absl::StrCat("old-", i)));
    writePidFile(i);
  }
  const std::string restart = dir_.writeFile("restart.sh", kRestartScript);
  std::vector<pid_t> old_pids;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < kBackends; ++i) {
    old_pids.push_back(pidInFile(i));
    ports.push_back(backendPort(i));
  }
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = ports, .workers = 2, .pool = kCheck}) +
                          "\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"t0ken\"\n"));
  admin_headers_ = {{"Authorization", "Bearer t0ken"}};
  for (size_t i = 0; i < kBackends; ++i) {
    ASSERT_TRUE(waitForBackend(
        "app", i, [](const nlohmann::json& b) { return b["health"] == "healthy"; },
        std::chrono::seconds(3)));
  }

  LoadGenerator load({.port = port(), .clients = 3});
  load.start();
  ASSERT_TRUE(load.waitForMore(200, std::chrono::seconds(5))) << load.failureSummary();

  // At no time is more than one backend out of rotation.
  std::atomic<bool> stop_watching{false};
  std::atomic<int> most_out{0};
  std::atomic<int> samples{0};
  std::thread watcher([&] {
    while (!stop_watching.load()) {
      AdminResult result =
          adminCall(admin_port_, "GET", "/admin/status", {{"Authorization", "Bearer t0ken"}});
      if (result.status == 200) {
        int out = 0;
        for (const auto& b : result.body["pools"][0]["backends"]) out += b["eligible"] ? 0 : 1;
        most_out.store(std::max(most_out.load(), out));
        samples.fetch_add(1);
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  });

  const Clock::time_point started = Clock::now();
  const std::optional<int> code =
      runScript({"--pool", "app", "--update-cmd", "bash " + restart + " {port}", "--drain-timeout",
                 "10", "--health-timeout", "10"},
                {{"SWITCHYARD_ADMIN_TOKEN", "t0ken"}});
  const long took_ms = elapsedMs(started);
  stop_watching.store(true);
  watcher.join();
  ASSERT_EQ(code, std::optional<int>(0)) << script_->output();
  EXPECT_NE(script_->output().find("all 3 backend(s) updated"), std::string::npos)
      << script_->output();

  // Every backend is a new process, serves, and is healthy and ready.
  ASSERT_TRUE(load.waitForMore(200, std::chrono::seconds(5))) << load.failureSummary();
  for (size_t i = 0; i < kBackends; ++i) {
    SCOPED_TRACE(absl::StrCat("backend ", i));
    EXPECT_NE(pidInFile(i), old_pids[i]);
    EXPECT_GT(pidInFile(i), 0);
    EXPECT_GT(load.servedBy(absl::StrCat("new-", ports[i])), 0u);
    EXPECT_EQ(backends_[i]->process->waitExit(milliseconds(0)), std::optional<int>(0));
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << load.failureSummary();
  AdminResult final_status = admin("GET", "/admin/status");
  ASSERT_EQ(final_status.status, 200);
  for (const auto& b : final_status.body["pools"][0]["backends"]) {
    EXPECT_EQ(b["health"], "healthy") << b.dump();
    EXPECT_EQ(b["eligible"], true) << b.dump();
    EXPECT_EQ(b["admin_state"], "ready") << b.dump();
  }
  EXPECT_GT(samples.load(), 10);
  EXPECT_LE(most_out.load(), 1);
  std::printf("rolling update of %zu backends took %ld ms; %lu requests, %lu failed\n", kBackends,
              took_ms, static_cast<unsigned long>(load.served()),
              static_cast<unsigned long>(load.failed()));
}

TEST_F(RollingUpdateTest, StopsAtTheFirstFailureAndLeavesThatBackendDrained) {
  ASSERT_NO_FATAL_FAILURE(startBackend("b0"));
  ASSERT_NO_FATAL_FAILURE(startBackend("b1"));
  ASSERT_NO_FATAL_FAILURE(
      startProxyWithAdmin(simpleConfig({.backends = {backendPort(0), backendPort(1)},
                                        .workers = 1,
                                        .pool = "response_timeout = \"120s\"\n" + kCheck})));
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(waitForBackend(
        "app", i, [](const nlohmann::json& b) { return b["eligible"] == true; },
        std::chrono::seconds(3)));
  }

  // Bad usage: 2.
  EXPECT_EQ(runScript({"--pool", "app"}), std::optional<int>(2));
  EXPECT_NE(script_->output().find("--update-cmd is required"), std::string::npos);
  EXPECT_EQ(runScript({"--pool", "app", "--update-cmd", "true", "--drain-timeout", "soon"}),
            std::optional<int>(2));
  EXPECT_EQ(runScript({"--help"}), std::optional<int>(0));
  EXPECT_NE(script_->output().find("{address}"), std::string::npos);

  // Unknown pool.
  EXPECT_EQ(runScript({"--pool", "nope", "--update-cmd", "true"}), std::optional<int>(1));
  EXPECT_NE(script_->output().find("no pool \"nope\" (pools: app)"), std::string::npos)
      << script_->output();

  // The update command fails on the first backend: stop there, leave it drained.
  const std::string marker = dir_.file("updated");
  EXPECT_EQ(runScript({"--pool", "app", "--update-cmd",
                       "echo {address} {host} {port} >> " + marker + "; exit 3"}),
            std::optional<int>(1));
  EXPECT_NE(script_->output().find("update command exited with status 3"), std::string::npos)
      << script_->output();
  std::ifstream updated(marker);
  std::stringstream lines;
  lines << updated.rdbuf();
  EXPECT_EQ(lines.str(), absl::StrCat(localAddress(backendPort(0)), " 127.0.0.1 ", backendPort(0),
                                      "\n"));  // once, placeholders replaced
  EXPECT_EQ(backend("app", 0)["admin_state"], "drained");
  EXPECT_EQ(backend("app", 1)["admin_state"], "ready");

  // With b1 drained, b0 is the last one eligible: the script refuses to empty the pool.
  const std::string b0_path =
      absl::StrCat("/admin/pools/app/backends/", localAddress(backendPort(0)));
  const std::string b1_path =
      absl::StrCat("/admin/pools/app/backends/", localAddress(backendPort(1)));
  ASSERT_EQ(admin("POST", b0_path + "/enable").status, 200);
  ASSERT_EQ(admin("POST", b1_path + "/drain").status, 200);
  EXPECT_EQ(runScript({"--pool", "app", "--update-cmd", "true"}), std::optional<int>(1));
  EXPECT_NE(script_->output().find("would leave the pool empty"), std::string::npos)
      << script_->output();
  EXPECT_EQ(backend("app", 0)["admin_state"], "ready");
  ASSERT_EQ(admin("POST", b1_path + "/enable").status, 200);

  // Not drained in time: a slow request on each backend (one worker: round robin alternates),
  // held until the script has given up, however long a busy machine takes to get it to its
  // drain. The clients then leave, which gives their requests up (abort_on_client_close) and
  // lets the drain complete.
  std::vector<std::unique_ptr<HttpClient>> slow;
  for (int i = 0; i < 2; ++i) {
    auto client = std::make_unique<HttpClient>();
    ASSERT_TRUE(client->connect(port()));
    ASSERT_TRUE(client->sendRaw("GET /delay/60000 HTTP/1.1\r\nHost: b\r\n\r\n"));
    slow.push_back(std::move(client));
  }
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(waitForBackend(
        "app", i, [](const nlohmann::json& b) { return b["in_flight"] == 1; },
        std::chrono::seconds(10)));
  }
  EXPECT_EQ(runScript({"--pool", "app", "--update-cmd", "true", "--drain-timeout", "0.3"}),
            std::optional<int>(1));
  EXPECT_NE(script_->output().find("not drained within 0.3s"), std::string::npos)
      << script_->output();
  EXPECT_EQ(backend("app", 0)["admin_state"], "draining");
  slow.clear();
  ASSERT_TRUE(waitForBackend(
      "app", 0, [](const nlohmann::json& b) { return b["in_flight"] == 0; },
      std::chrono::seconds(10)));

  // An update whose backend does not come back: drained again after --health-timeout.
  ASSERT_EQ(admin("POST", b0_path + "/enable").status, 200);
  EXPECT_EQ(runScript({"--pool", "app", "--health-timeout", "1", "--update-cmd",
                       "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'POST "
                       "/control/health?status=503 HTTP/1.1\\r\\nHost: b\\r\\nConnection: "
                       "close\\r\\n\\r\\n' >&3; cat <&3 > /dev/null"}),
            std::optional<int>(1));
  EXPECT_NE(script_->output().find("not healthy within 1s"), std::string::npos)
      << script_->output();
  EXPECT_EQ(backend("app", 0)["admin_state"], "drained");
  EXPECT_EQ(backend("app", 1)["admin_state"], "ready");
}

}  // namespace
}  // namespace sy::testing
