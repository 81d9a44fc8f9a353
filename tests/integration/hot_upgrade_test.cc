// Hot binary upgrade (SIGUSR2, `switchyard upgrade`, POST /admin/upgrade): the new process gets
// the listening sockets and the runtime state; no connection is refused and no request fails
// while it takes over; a new process that cannot start changes nothing. And systemd socket
// activation (LISTEN_FDS): an inherited socket is served instead of binding.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Requests while the upgrade runs: keep-alive clients, and a poller that opens a new connection
// every few milliseconds. A GET on a keep-alive connection that the server closed as idle before
// it read the request is retried on a new connection, as HTTP clients do (RFC 9112 §9.3.1): the
// old process closes its idle connections when it drains.
class Load {
 public:
  explicit Load(uint16_t port) : port_(port) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { keepAlive(); });
    threads_.emplace_back([this] { poll(); });
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  uint64_t ok() const { return ok_; }

  std::atomic<uint64_t> ok_{0}, failed_{0}, refused_{0}, retried_{0};
  std::string first_error_;
  std::mutex mutex_;

 private:
  void fail(std::atomic<uint64_t>& counter, const std::string& error) {
    ++counter;
    std::lock_guard<std::mutex> lock(mutex_);
    if (first_error_.empty()) first_error_ = error;
  }
  bool check(const std::optional<Response>& response, const HttpClient& client) {
    if (response.has_value() && response->status == 200) {
      ++ok_;
      return true;
    }
    fail(failed_,
         response.has_value() ? absl::StrCat("status ", response->status) : client.lastError());
    return false;
  }
  void keepAlive() {
    HttpClient client(milliseconds(10000));
    while (!stop_) {
      if (!client.connected() && !client.connect(port_)) {
        fail(refused_, client.lastError());
        continue;
      }
      std::optional<Response> response = client.request("GET", "/");
      if (!response.has_value() && (client.peerClosed() || client.peerReset())) {
        ++retried_;
        client.close();
        if (!client.connect(port_)) {
          fail(refused_, client.lastError());
          continue;
        }
        response = client.request("GET", "/");
      }
      if (!check(response, client) || response->header("Connection") == "close") client.close();
    }
  }
  void poll() {
    while (!stop_) {
      HttpClient client(milliseconds(10000));
      if (!client.connect(port_)) {
        fail(refused_, client.lastError());
      } else {
        check(client.request("GET", "/", {{"Connection", "close"}}), client);
      }
      std::this_thread::sleep_for(milliseconds(3));
    }
  }

  const uint16_t port_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

class HotUpgradeTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
    ASSERT_NO_FATAL_FAILURE(startBackend("green"));
    // With a probes listener, whose socket an upgrade hands over like the admin API's.
    ASSERT_NO_FATAL_FAILURE(startProxyToml(
        config("\n[admin]\nlisten = \"127.0.0.1:0\"\nprobes_listen = \"127.0.0.1:0\"\n")));
    absl::StatusOr<uint16_t> admin = adminPortOf(*proxy_.process);
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_port_ = *admin;
  }

  void TearDown() override {
    // The new process is not the test's child: stop it by pid and wait until it is gone.
    if (new_pid_ > 0) {
      ::kill(new_pid_, SIGTERM);
      EXPECT_TRUE(waitUntil([&] { return processGone(new_pid_); }, milliseconds(10000)));
    }
    ProxyTest::TearDown();
  }

  std::string config(const std::string& extra = "") const {
    return absl::StrCat(
        "[server]\nworkers = 2\nshutdown_timeout = \"5s\"\n\n",
        "[[listeners]]\nname = \"http\"\nlisten = \"127.0.0.1:0\"\n\n",
        "[[pools]]\nname = \"blue\"\nbackends = ", backendList({backendPort(0)}),
        "\n\n[[pools]]\nname = \"green\"\nbackends = ", backendList({backendPort(1)}),
        "\n\n[[routes]]\nname = \"default\"\npool = \"blue\"\n", extra);
  }

  // Runs `switchyard upgrade 127.0.0.1:ADMIN [EXTRA...]`; its exit status and output.
  std::pair<int, std::string> runUpgradeCommand(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {switchyardBinary(), "upgrade",
                                     absl::StrCat("127.0.0.1:", admin_port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ChildProcess>> command = ChildProcess::start(argv);
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return {-1, ""};
    const std::optional<int> code = (*command)->waitExit(milliseconds(90000));
    EXPECT_TRUE(code.has_value()) << "switchyard upgrade did not finish";
    (*command)->waitForLine([](const std::string&) { return false; }, milliseconds(2000));
    return {code.value_or(-1), (*command)->output()};
  }

  nlohmann::json route() {
    AdminResult status = adminCall(admin_port_, "GET", "/admin/status");
    EXPECT_EQ(status.status, 200) << status.text();
    for (const auto& r : status.body.value("routes", nlohmann::json::array())) {
      if (r.value("name", "") == "default") return r;
    }
    return {};
  }

  void expectServes() {
    HttpClient client;
    ASSERT_NO_FATAL_FAILURE(connect(&client));
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 200);
  }

  uint16_t admin_port_ = 0;
  int new_pid_ = -1;
};

TEST_F(HotUpgradeTest, UnderLoadNoRequestFailsAndTheStateCarriesOver) {
  ASSERT_EQ(adminCall(admin_port_, "POST", "/admin/switch?to=green").status, 200);
  ASSERT_EQ(adminCall(admin_port_, "POST", "/admin/canary?pool=blue&weight=10").status, 200);
  Load load(port());
  ASSERT_TRUE(waitUntil([&] { return load.ok() >= 100; }, milliseconds(20000)));

  const auto [code, output] = runUpgradeCommand();
  ASSERT_EQ(code, 0) << output << "\nproxy:\n" << proxy_.process->output();
  const std::optional<nlohmann::json> answer = parseJson(output.substr(0, output.rfind('}') + 1));
  ASSERT_TRUE(answer.has_value()) << output;
  new_pid_ = answer->value("pid", -1);
  EXPECT_GT(new_pid_, 0);
  EXPECT_NE(new_pid_, proxy_.process->pid());
  // The old process drains and exits 0; the new one serves on the same sockets.
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0))
      << proxy_.process->output();
  const uint64_t after_exit = load.ok();
  ASSERT_TRUE(waitUntil([&] { return load.ok() >= after_exit + 100; }, milliseconds(20000)));
  load.stop();
  EXPECT_EQ(load.failed_, 0u) << load.first_error_;
  EXPECT_EQ(load.refused_, 0u) << load.first_error_;
  std::printf("upgrade under load: %llu ok, %llu keep-alive retries after an idle close\n",
              static_cast<unsigned long long>(load.ok()),
              static_cast<unsigned long long>(load.retried_.load()));

  // The traffic state came over the channel (no state file is configured).
  const nlohmann::json r = route();
  EXPECT_EQ(r.value("active", ""), "green") << r.dump();
  EXPECT_EQ(r["canary"].value("pool", ""), "blue") << r.dump();
  EXPECT_EQ(r["canary"].value("weight", 0.0), 10.0) << r.dump();
  expectServes();
}

TEST_F(HotUpgradeTest, Sigusr2UpgradesToo) {
  const std::optional<nlohmann::json> probes =
      waitForLogEvent(*proxy_.process, "probes_listening", milliseconds(5000));
  ASSERT_TRUE(probes.has_value()) << proxy_.process->output();
  const std::string probes_address = (*probes)["address"];
  const auto probes_port =
      static_cast<uint16_t>(std::stoi(probes_address.substr(probes_address.rfind(':') + 1)));
  ASSERT_TRUE(proxy_.process->signal(SIGUSR2));
  const std::optional<nlohmann::json> done =
      waitForLogEvent(*proxy_.process, "upgrade_completed", milliseconds(60000));
  ASSERT_TRUE(done.has_value()) << proxy_.process->output();
  new_pid_ = done->value("pid", -1);
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0));
  expectServes();
  // The old process is gone: the probes port answers because the new one took its socket.
  EXPECT_EQ(adminCall(probes_port, "GET", "/readyz").status, 200);
}

// Another binary file (as after a package upgrade) and another worker count: the new process
// runs from that file, and its third worker shares a socket the old process handed over.
TEST_F(HotUpgradeTest, ToAnotherBinaryWithMoreWorkers) {
  TempDir dir;
  const std::string copy = dir.file("switchyard-next");
  {
    std::ifstream from(switchyardBinary(), std::ios::binary);
    std::ofstream to(copy, std::ios::binary);
    to << from.rdbuf();
  }
  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  std::string more = config();
  more.replace(more.find("workers = 2"), 11, "workers = 3");
  proxy_.dir->writeFile("switchyard.toml", withTestAdmin(more));

  const auto [code, output] = runUpgradeCommand({"--binary", copy});
  ASSERT_EQ(code, 0) << output << proxy_.process->output();
  const std::optional<nlohmann::json> answer = parseJson(output.substr(0, output.rfind('}') + 1));
  ASSERT_TRUE(answer.has_value()) << output;
  new_pid_ = answer->value("pid", -1);
  EXPECT_EQ(answer->value("binary", ""), copy);
  char exe[4096] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(new_pid_) + "/exe").c_str(), exe, sizeof exe - 1),
            0);
  EXPECT_EQ(std::string(exe), copy);
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0));
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(expectServes());
  AdminResult status = adminCall(admin_port_, "GET", "/admin/status");
  EXPECT_EQ(status.body.value("workers", 0), 3) << status.text();
}

TEST_F(HotUpgradeTest, ANewProcessThatCannotStartChangesNothing) {
  // A file the new process refuses.
  proxy_.dir->writeFile("switchyard.toml", withTestAdmin(config("retries = \n")));
  auto [code, output] = runUpgradeCommand();
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("configuration invalid"));
  EXPECT_TRUE(waitForLogEvent(*proxy_.process, "upgrade_failed", milliseconds(5000)));
  EXPECT_TRUE(proxy_.process->running());
  expectServes();

  // A new listener on a port somebody else holds.
  uint16_t taken = 0;
  const int holder = listenOnLoopback(8, &taken);
  ASSERT_GE(holder, 0);
  proxy_.dir->writeFile(
      "switchyard.toml",
      withTestAdmin(config(absl::StrCat("\n[[listeners]]\nname = \"second\"\nlisten = "
                                        "\"127.0.0.1:",
                                        taken, "\"\n"))));
  std::tie(code, output) = runUpgradeCommand();
  ::close(holder);
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("listener second"));
  EXPECT_THAT(output, HasSubstr("in use"));
  EXPECT_TRUE(proxy_.process->running());
  expectServes();

  // No such binary; a binary that exits at once (without a word on the channel).
  std::tie(code, output) = runUpgradeCommand({"--binary", "/nonexistent/switchyard"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("cannot run /nonexistent/switchyard"));
  std::tie(code, output) = runUpgradeCommand({"--binary", "/bin/false"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("exited with status 1 before it was ready"));
  EXPECT_TRUE(proxy_.process->running());
  expectServes();
  EXPECT_EQ(route().value("active", ""), "blue");
}

// After a reload that added a listener and moved another, an upgrade hands over the sockets as
// they are now: the new process serves the reloaded ports (it would otherwise bind port 0 anew for
// the added listener, and a client of that port would be refused once the old process exits).
TEST_F(HotUpgradeTest, AfterAReloadThatChangedListenersTheCurrentSocketsAreHandedOver) {
  std::string next = config("\n[[listeners]]\nname = \"second\"\nlisten = \"127.0.0.1:0\"\n");
  // Another backlog: "http" is closed and opened again, on a new port (port 0).
  const std::string http = "name = \"http\"\nlisten = \"127.0.0.1:0\"\n";
  next.replace(next.find(http), http.size(), http + "backlog = 64\n");
  proxy_.dir->writeFile("switchyard.toml", withTestAdmin(next));
  AdminResult reloaded = adminCall(admin_port_, "POST", "/admin/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.text();
  uint16_t http_port = 0;
  uint16_t second_port = 0;
  ASSERT_TRUE(waitUntil(
      [&] {
        http_port = listenerPortOf(*proxy_.process, "http");
        second_port = listenerPortOf(*proxy_.process, "second");
        return second_port != 0 && http_port != 0 && http_port != port();
      },
      milliseconds(10000)))
      << proxy_.process->output();

  const auto [code, output] = runUpgradeCommand();
  ASSERT_EQ(code, 0) << output << "\nproxy:\n" << proxy_.process->output();
  const std::optional<nlohmann::json> answer = parseJson(output.substr(0, output.rfind('}') + 1));
  ASSERT_TRUE(answer.has_value()) << output;
  new_pid_ = answer->value("pid", -1);
  EXPECT_EQ(proxy_.process->waitExit(milliseconds(20000)), std::optional<int>(0))
      << proxy_.process->output();
  for (const uint16_t listener_port : {http_port, second_port}) {
    HttpClient client;
    ASSERT_TRUE(client.connect(listener_port)) << listener_port << ": " << client.lastError();
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError();
    EXPECT_EQ(response->status, 200);
  }
}

// systemd socket activation: the socket is the test's, passed as descriptor 3 with LISTEN_PID
// set to the proxy's own pid (bash execs the binary, keeping its pid).
class SocketActivationTest : public ProxyTest {
 protected:
  void startActivated(const std::string& listener, const std::string& fdname) {
    uint16_t port = 0;
    const int fd = listenOnLoopback(64, &port);
    ASSERT_GE(fd, 0);
    ::fcntl(fd, F_SETFD, 0);  // inherited by the child
    port_ = port;
    std::string address = listener;
    if (const size_t at = address.find("PORT"); at != std::string::npos) {
      address.replace(at, 4, std::to_string(port));
    }
    dir_ = std::make_unique<TempDir>();
    const std::string path = dir_->writeFile(
        "switchyard.toml",
        withTestAdmin(absl::StrCat(
            "[[listeners]]\nname = \"http\"\nlisten = \"", address,
            "\"\n\n[[pools]]\nname = \"blue\"\nbackends = ", backendList({backendPort(0)}),
            "\n\n[[routes]]\nname = \"default\"\npool = \"blue\"\n")));
    std::string script =
        "if [ \"$SY_FD\" != 3 ]; then exec 3<&\"$SY_FD\"; eval \"exec $SY_FD<&-\"; fi; "
        "export LISTEN_PID=$$; exec \"$@\"";
    ChildProcess::Env env = {{"SY_FD", std::to_string(fd)}, {"LISTEN_FDS", "1"}};
    if (!fdname.empty()) env.emplace_back("LISTEN_FDNAMES", fdname);
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::start({"bash", "-c", script, "bash", switchyardBinary(), "-c", path}, env);
    ::close(fd);
    ASSERT_TRUE(child.ok()) << child.status();
    proxy_.process = std::move(*child);
    ASSERT_TRUE(waitForLogEvent(*proxy_.process, "ready", milliseconds(10000)))
        << proxy_.process->output();
  }

  void expectServedOnInheritedSocket() {
    EXPECT_TRUE(waitForLogEvent(*proxy_.process, "socket_inherited", milliseconds(1000)));
    HttpClient client;
    ASSERT_TRUE(client.connect(port_)) << client.lastError();
    std::optional<Response> response = client.request("GET", "/");
    ASSERT_TRUE(response.has_value()) << client.lastError() << proxy_.process->output();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("X-Backend"), "blue");
  }

  uint16_t port_ = 0;
  std::unique_ptr<TempDir> dir_;
};

TEST_F(SocketActivationTest, MatchedByName) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  // Port 0 in the file: only the name can match it.
  ASSERT_NO_FATAL_FAILURE(startActivated("127.0.0.1:0", "http"));
  expectServedOnInheritedSocket();
}

TEST_F(SocketActivationTest, MatchedByAddress) {
  ASSERT_NO_FATAL_FAILURE(startBackend("blue"));
  // No name; the file names the socket's own port, which binding would find taken.
  ASSERT_NO_FATAL_FAILURE(startActivated("127.0.0.1:PORT", ""));
  expectServedOnInheritedSocket();
}

}  // namespace
}  // namespace sy::testing
