// systemd's Type=notify protocol (sd_notify(3)), with the test as the service manager: it binds
// the unix datagram socket that NOTIFY_SOCKET names and reads what the proxy reports. READY=1
// comes once the listeners accept, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a
// SIGHUP reload, applied or refused, and STOPPING=1 when SIGTERM starts the drain. A hot
// upgrade hands the service over with MAINPID= (and no STOPPING=1 from the old process).

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

// The service manager's end: a unix datagram socket bound in a fresh directory.
class NotifySocket {
 public:
  NotifySocket() : path_(dir_.file("notify")) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    bound_ = fd_ >= 0 && path_.size() < sizeof address.sun_path &&
             ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram, or nullopt when none came within `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(n));
  }

 private:
  TempDir dir_;
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

class ServiceNotifyTest : public ProxyTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(notify_.bound()) << std::strerror(errno);
    ASSERT_NO_FATAL_FAILURE(startBackend("app"));
    ASSERT_NO_FATAL_FAILURE(
        startProxy({.backends = {backendPort(0)}}, {{"NOTIFY_SOCKET", notify_.path()}}));
  }

  std::string config(const std::string& route_extra = "") {
    return simpleConfig({.backends = {backendPort(0)}, .route = route_extra});
  }

  NotifySocket notify_;
};

TEST_F(ServiceNotifyTest, ReadyOnceListeningThenReloadingAndStopping) {
  std::optional<std::string> ready = notify_.next();
  ASSERT_TRUE(ready.has_value()) << proxy_.process->output();
  EXPECT_THAT(*ready, HasSubstr("READY=1"));
  // READY=1 promises that the listener accepts: a request goes through right away.
  std::optional<Response> response = httpGet(port(), "/");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);

  // An applied reload.
  absl::StatusOr<nlohmann::json> reloaded = proxy_.reload(config("retries = 1"));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)["event"], "config_reloaded");
  std::optional<std::string> reloading = notify_.next();
  ASSERT_TRUE(reloading.has_value());
  EXPECT_THAT(*reloading, HasSubstr("RELOADING=1"));
  EXPECT_THAT(*reloading, ContainsRegex("MONOTONIC_USEC=[0-9]+"));
  std::optional<std::string> ready_again = notify_.next();
  ASSERT_TRUE(ready_again.has_value());
  EXPECT_THAT(*ready_again, HasSubstr("READY=1"));

  // A refused reload ends with READY=1 too: the running configuration still serves.
  absl::StatusOr<nlohmann::json> refused = proxy_.reload("[[listeners]]\nname = 5\n");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ((*refused)["event"], "config_reload_failed");
  std::optional<std::string> reloading_refused = notify_.next();
  ASSERT_TRUE(reloading_refused.has_value());
  EXPECT_THAT(*reloading_refused, HasSubstr("RELOADING=1"));
  std::optional<std::string> ready_refused = notify_.next();
  ASSERT_TRUE(ready_refused.has_value());
  EXPECT_THAT(*ready_refused, HasSubstr("READY=1"));

  ASSERT_TRUE(proxy_.process->signal(SIGTERM));
  std::optional<std::string> stopping = notify_.next();
  ASSERT_TRUE(stopping.has_value());
  EXPECT_THAT(*stopping, HasSubstr("STOPPING=1"));
  EXPECT_THAT(*stopping, Not(HasSubstr("READY=1")));
  EXPECT_EQ(proxy_.process->waitExit(std::chrono::seconds(10)), 0) << proxy_.process->output();
}

TEST_F(ServiceNotifyTest, HotUpgradeMovesTheMainPid) {
  std::optional<std::string> ready = notify_.next();
  ASSERT_TRUE(ready.has_value()) << proxy_.process->output();
  EXPECT_THAT(*ready, HasSubstr("READY=1"));
  ASSERT_TRUE(proxy_.process->signal(SIGUSR2));
  const std::optional<nlohmann::json> done =
      waitForLogEvent(*proxy_.process, "upgrade_completed", std::chrono::seconds(60));
  ASSERT_TRUE(done.has_value()) << proxy_.process->output();
  const int new_pid = done->value("pid", -1);
  ASSERT_GT(new_pid, 0);
  std::optional<std::string> main_pid = notify_.next();
  ASSERT_TRUE(main_pid.has_value());
  EXPECT_THAT(*main_pid, HasSubstr("MAINPID=" + std::to_string(new_pid) + "\n"));
  EXPECT_EQ(proxy_.process->waitExit(std::chrono::seconds(10)), 0) << proxy_.process->output();
  // Everything the old process sent is queued by now: no READY=1 from the new one (not the
  // main process when it was ready) and no STOPPING=1 from the old.
  EXPECT_EQ(notify_.next(std::chrono::milliseconds(0)), std::nullopt);
  ASSERT_EQ(::kill(new_pid, SIGTERM), 0);
  std::optional<std::string> stopping = notify_.next();
  ASSERT_TRUE(stopping.has_value());
  EXPECT_THAT(*stopping, HasSubstr("STOPPING=1"));
  EXPECT_TRUE(waitUntil([&] { return processGone(new_pid); }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace sy::testing
