// `switchyard import nginx` against the real thing. Every nginx block of the seed documents
// (tests/fixtures/nginx) imports and passes `switchyard --check`; and for a few typical
// configurations, nginx running the original and Switchyard running the import, in front of
// the same demo backends, answer the same requests from the same backends with the same
// statuses, and split weighted traffic in the same proportions (within statistical bounds).
// Where they differ by design (documented in conf/REFERENCE.md "Coming from nginx"), the test
// asserts the documented difference.

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/admin_client.h"
#include "tests/support/http_client.h"
#include "tests/support/nginx_server.h"
#include "tests/support/switchyard_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certificates.h"
#include "tests/support/tls_client.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct CommandRun {
  int exit_code = -1;
  std::string stdout_text;
  std::vector<std::string> stderr_lines;
};

CommandRun runCommand(std::vector<std::string> argv) {
  CommandRun run;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::start(std::move(argv));
  if (!child.ok()) return run;
  const std::optional<int> code = (*child)->waitExit(seconds(30));
  // The reader thread may still hold the last lines: wait until both streams closed.
  (*child)->waitForLine([](const std::string&) { return false; }, seconds(5));
  run.exit_code = code.value_or(-1);
  run.stdout_text = absl::StrJoin((*child)->stdoutLines(), "\n") + "\n";
  run.stderr_lines = (*child)->stderrLines();
  return run;
}

CommandRun importNginx(const std::string& path) {
  return runCommand({switchyardBinary(), "import", "nginx", path});
}

CommandRun checkToml(const TempDir& dir, const std::string& toml) {
  const std::string path = dir.writeFile("imported.toml", toml);
  return runCommand({switchyardBinary(), "--check", "-c", path});
}

TEST(NginxImportSeedsTest, EverySeedFixtureImportsAndPassesCheck) {
  const std::string root = std::string(SY_SOURCE_DIR) + "/tests/fixtures/nginx";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string path = entry.path().string();
    // conf.d/ files are included by their nginx.conf, not imported on their own.
    if (entry.path().extension() == ".conf" && path.find("/conf.d/") == std::string::npos) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 6u) << "fixtures missing under " << root;
  // The README's example too.
  files.push_back(std::string(SY_SOURCE_DIR) + "/conf/nginx-blue-green.conf");
  TempDir dir;
  // The certificates the seeds name exist on their authors' machines only: --check loads a test
  // pair in their place.
  absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  absl::StatusOr<CertificateFiles> leaf =
      (*certificates)->issue("seed", KeyType::kEcdsa, {"localhost"});
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  const std::string test_pair =
      absl::StrCat("  { cert = \"", leaf->cert, "\", key = \"", leaf->key, "\" },");
  bool some_tls = false;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    CommandRun imported = importNginx(file);
    std::vector<std::string> lines = absl::StrSplit(imported.stdout_text, '\n');
    for (std::string& line : lines) {
      if (line.rfind("  { cert = ", 0) == 0) line = test_pair;
    }
    imported.stdout_text = absl::StrJoin(lines, "\n");
    some_tls |= imported.stdout_text.find("[listeners.tls]") != std::string::npos;
    EXPECT_TRUE(imported.exit_code == 0 || imported.exit_code == 3)
        << "exit " << imported.exit_code << ": " << absl::StrJoin(imported.stderr_lines, "\n");
    // Every warning names its file and line: FILE:LINE: DIRECTIVE: KIND: WHY.
    for (const std::string& line : imported.stderr_lines) {
      EXPECT_TRUE(line.find(": unsupported: ") != std::string::npos ||
                  line.find(": approximated: ") != std::string::npos ||
                  line.find(": ignored: ") != std::string::npos)
          << line;
      EXPECT_EQ(line.rfind(file.substr(0, file.rfind('/') + 1), 0), 0u) << line;
    }
    const CommandRun check = checkToml(dir, imported.stdout_text);
    EXPECT_EQ(check.exit_code, 0) << absl::StrJoin(check.stderr_lines, "\n") << "\n"
                                  << imported.stdout_text;
  }
  EXPECT_TRUE(some_tls) << "seed004_https.conf should give a TLS listener";
}

TEST(NginxImportSeedsTest, SyntaxErrorExitsOneWithFileLineColumn) {
  TempDir dir;
  const std::string path =
      dir.writeFile("nginx.conf", "http {\n  server {\n    listen 80\n  }\n}\n");
  const CommandRun run = importNginx(path);
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_FALSE(run.stderr_lines.empty());
  EXPECT_EQ(run.stderr_lines.back().rfind(path + ":4:3: ", 0), 0u) << run.stderr_lines.back();
}

// --- Differential: nginx and Switchyard side by side ------------------------------------------

class NginxDifferentialTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (proxy_.process) {
      proxy_.process->signal(SIGTERM);
      EXPECT_EQ(proxy_.process->waitExit(seconds(10)), 0) << proxy_.process->output();
    }
    if (nginx_) {
      nginx_->signal(SIGTERM);
      nginx_->waitExit(seconds(10));
    }
  }

  void startBackends(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      absl::StatusOr<DemoBackendProcess> backend = startDemoBackend(name);
      ASSERT_TRUE(backend.ok()) << backend.status();
      ports_["@" + name + "@"] = std::to_string(backend->port);
      backends_.push_back(std::make_unique<DemoBackendProcess>(std::move(*backend)));
    }
  }

  // The nginx main file around `site` (an http-context file with @NAME@ for the backend ports
  // and @PORT@ for the listen port): foreground, one process, everything in the temp dir.
  std::string mainConf() const {
    const std::string dir = files_.path();
    return absl::StrCat("daemon off;\nmaster_process off;\nworker_processes 1;\npid ", dir,
                        "/nginx.pid;\nerror_log ", dir,
                        "/error.log warn;\nevents { worker_connections 256; }\nhttp {\n"
                        "  access_log off;\n  client_body_temp_path ",
                        dir, "/tmp/body;\n  proxy_temp_path ", dir, "/tmp/proxy;\n",
                        "  fastcgi_temp_path ", dir, "/tmp/fastcgi;\n  uwsgi_temp_path ", dir,
                        "/tmp/uwsgi;\n  scgi_temp_path ", dir,
                        "/tmp/scgi;\n  include site.conf;\n}\n");
  }

  std::string fill(const std::string& site) const {
    std::vector<std::pair<std::string, std::string>> replacements(ports_.begin(), ports_.end());
    replacements.emplace_back("@PORT@", std::to_string(nginx_port_));
    return absl::StrReplaceAll(site, replacements);
  }

  // Runs nginx on nginx_port_ with site_; nginx_ stays null when it did not come up.
  void launchNginx() {
    files_.writeFile("site.conf", fill(site_));
    absl::StatusOr<std::unique_ptr<ChildProcess>> started =
        ChildProcess::start({findProgram("nginx"), "-p", files_.path(), "-c", main_path_, "-e",
                             files_.path() + "/error.log"});
    ASSERT_TRUE(started.ok()) << started.status();
    const bool up = waitUntil(
        [&] {
          HttpClient probe(milliseconds(200));
          return probe.connect(nginx_port_) || !(*started)->running();
        },
        milliseconds(10000));
    if (up && (*started)->running()) nginx_ = std::move(*started);
  }

  // Starts nginx with `site`, then Switchyard with what `switchyard import nginx` made of the
  // same files, its listener moved from nginx's port to a free one.
  void startBoth(const std::string& site) {
    const std::string nginx = findProgram("nginx");
    ASSERT_FALSE(nginx.empty()) << "nginx is required (scripts/setup.sh --test installs "
                                   "nginx-light)";
    for (const char* sub : {"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"}) {
      files_.writeFile(std::string(sub) + "/.keep", "");
    }
    site_ = site;
    main_path_ = files_.writeFile("nginx.conf", mainConf());
    // nginx cannot report a port it chose: pick one, and try again if another process took it.
    for (int attempt = 0; attempt < 3 && nginx_ == nullptr; ++attempt) {
      nginx_port_ = unusedPort();
      ASSERT_NO_FATAL_FAILURE(launchNginx());
    }
    ASSERT_NE(nginx_, nullptr) << "nginx did not start";

    const CommandRun imported = importNginx(main_path_);
    ASSERT_TRUE(imported.exit_code == 0 || imported.exit_code == 3)
        << absl::StrJoin(imported.stderr_lines, "\n");
    warnings_ = imported.stderr_lines;
    const std::string toml =
        absl::StrReplaceAll(imported.stdout_text,
                            {{absl::StrCat("\"127.0.0.1:", nginx_port_, "\""), "\"127.0.0.1:0\""}});
    absl::StatusOr<SwitchyardProcess> proxy = startSwitchyard(toml);
    ASSERT_TRUE(proxy.ok()) << proxy.status() << "\n" << toml;
    proxy_ = std::move(*proxy);
  }

  struct Answer {
    int status = 0;
    std::string backend;  // the demo backend's X-Backend header
  };
  static Answer ask(uint16_t port, const std::string& path, const Headers& headers) {
    std::string error;
    const std::optional<Response> response = httpGet(port, path, headers, &error);
    if (!response) return {0, "no answer: " + error};
    return {response->status, std::string(response->header("X-Backend").value_or("-"))};
  }
  Answer askNginx(const std::string& path, const Headers& headers = {}) const {
    return ask(nginx_port_, path, headers);
  }
  Answer askSwitchyard(const std::string& path, const Headers& headers = {}) const {
    return ask(proxy_.port(), path, headers);
  }
  bool warned(std::string_view part) const {
    for (const std::string& line : warnings_) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }

  TempDir files_;
  std::map<std::string, std::string> ports_;
  std::vector<std::unique_ptr<DemoBackendProcess>> backends_;
  std::unique_ptr<ChildProcess> nginx_;
  uint16_t nginx_port_ = 0;
  std::string site_;
  std::string main_path_;
  SwitchyardProcess proxy_;
  std::vector<std::string> warnings_;
};

// Share of `answers` from `backend`.
double share(const std::vector<std::string>& answers, const std::string& backend) {
  return static_cast<double>(std::count(answers.begin(), answers.end(), backend)) /
         static_cast<double>(answers.size());
}

// The seeds' canary: one upstream, weights 90/10, keepalive 32 (seed002, lines 1317-1355).
TEST_F(NginxDifferentialTest, Canary9010WithKeepalive) {
  ASSERT_NO_FATAL_FAILURE(startBackends({"v1", "v2"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream backend {
    server 127.0.0.1:@v1@ weight=90 max_fails=3 fail_timeout=30s;
    server 127.0.0.1:@v2@ weight=10 max_fails=3 fail_timeout=30s;
    keepalive 32;
}
server {
    listen 127.0.0.1:@PORT@;
    server_name app.example.com;
    location / {
        proxy_pass http://backend;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        add_header X-Backend-Version $upstream_addr;
    }
}
)"));
  constexpr int kRequests = 300;
  std::vector<std::string> from_nginx;
  std::vector<std::string> from_switchyard;
  for (int i = 0; i < kRequests; ++i) {
    const Headers host = {{"Host", "app.example.com"}};
    const Answer a = askNginx("/", host);
    const Answer b = askSwitchyard("/", host);
    ASSERT_EQ(a.status, 200) << a.backend;
    ASSERT_EQ(b.status, 200) << b.backend;
    from_nginx.push_back(a.backend);
    from_switchyard.push_back(b.backend);
  }
  const double nginx_v2 = share(from_nginx, "v2");
  const double switchyard_v2 = share(from_switchyard, "v2");
  std::printf("canary 90/10: v2 share nginx %.3f, switchyard %.3f over %d requests each\n",
              nginx_v2, switchyard_v2, kRequests);
  // Both are weighted round robin (Switchyard's per worker): 10% within a few points.
  EXPECT_NEAR(nginx_v2, 0.10, 0.04);
  EXPECT_NEAR(switchyard_v2, 0.10, 0.04);
  EXPECT_NEAR(share(from_nginx, "v1") + nginx_v2, 1.0, 1e-9);
  EXPECT_NEAR(share(from_switchyard, "v1") + switchyard_v2, 1.0, 1e-9);
  // Documented difference: the header names the pool, not the backend address.
  EXPECT_TRUE(warned("add_header X-Backend-Version $upstream_addr: approximated: pool_header"));
  std::optional<Response> response = httpGet(proxy_.port(), "/", {{"Host", "app.example.com"}});
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->header("X-Backend-Version"), "backend");
}

// Blue/green: the seed's upstream.conf flip (seed000) against the admin API's switch.
TEST_F(NginxDifferentialTest, BlueGreenUpstreamAndTheFlip) {
  ASSERT_NO_FATAL_FAILURE(startBackends({"blue", "green"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream blue  { server 127.0.0.1:@blue@ max_fails=3 fail_timeout=30s; }
upstream green { server 127.0.0.1:@green@ max_fails=3 fail_timeout=30s; }
server {
    listen 127.0.0.1:@PORT@;
    location /health { proxy_pass http://blue/health; }
    location / {
        proxy_pass http://blue;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
        proxy_connect_timeout 5s;
        proxy_read_timeout 30s;
    }
}
)"));
  for (const std::string path : {"/", "/health", "/status/503", "/status/404", "/any/path"}) {
    const Answer a = askNginx(path);
    const Answer b = askSwitchyard(path);
    EXPECT_EQ(a.status, b.status) << path;
    EXPECT_EQ(a.backend, "blue") << path;
    EXPECT_EQ(b.backend, a.backend) << path;
  }
  // nginx: edit the file and reload (here a restart: a single-process nginx does not reload
  // reliably). Switchyard: one admin call, no reload.
  site_ = absl::StrReplaceAll(site_, {{"proxy_pass http://blue;", "proxy_pass http://green;"}});
  nginx_->signal(SIGTERM);
  ASSERT_TRUE(nginx_->waitExit(seconds(10)).has_value());
  nginx_.reset();
  ASSERT_NO_FATAL_FAILURE(launchNginx());
  ASSERT_NE(nginx_, nullptr) << "nginx did not restart on port " << nginx_port_;
  absl::StatusOr<uint16_t> admin = adminPortOf(*proxy_.process);
  ASSERT_TRUE(admin.ok()) << admin.status();
  const AdminResult switched = adminCall(*admin, "POST", "/admin/switch?to=green&route=default");
  ASSERT_EQ(switched.status, 200) << switched.text();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(askNginx("/").backend, "green");
    EXPECT_EQ(askSwitchyard("/").backend, "green");
  }
}

// The seeds' shadow deployment (seed002, lines 2058-2099): every request copied to the shadow.
TEST_F(NginxDifferentialTest, MirrorToAShadow) {
  ASSERT_NO_FATAL_FAILURE(startBackends({"production", "shadow"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream production { server 127.0.0.1:@production@; }
upstream shadow { server 127.0.0.1:@shadow@; }
server {
    listen 127.0.0.1:@PORT@;
    location / {
        proxy_pass http://production;
        mirror /mirror;
        mirror_request_body on;
    }
    location = /mirror {
        internal;
        proxy_pass http://shadow$request_uri;
    }
}
)"));
  const uint16_t shadow_port = backends_[1]->port;
  constexpr uint64_t kRequests = 20;
  auto shadowRequests = [&] {
    absl::StatusOr<BackendStats> stats = backendStats(shadow_port);
    return stats.ok() ? stats->requests : 0;
  };
  for (const uint16_t proxy_port : {nginx_port_, proxy_.port()}) {
    SCOPED_TRACE(proxy_port == nginx_port_ ? "nginx" : "switchyard");
    const uint64_t before = shadowRequests();
    for (uint64_t i = 0; i < kRequests; ++i) {
      const Answer answer = ask(proxy_port, "/page/" + std::to_string(i), {});
      EXPECT_EQ(answer.status, 200);
      EXPECT_EQ(answer.backend, "production");  // clients only ever see production
    }
    // Copies are sent asynchronously by both: wait for all of them.
    EXPECT_TRUE(
        waitUntil([&] { return shadowRequests() - before >= kRequests; }, milliseconds(10000)))
        << "shadow got " << shadowRequests() - before << " of " << kRequests;
  }
}

// An A/B split with split_clients on a cookie: the same shares, each user sticky on one side.
TEST_F(NginxDifferentialTest, SplitClientsAB) {
  ASSERT_NO_FATAL_FAILURE(startBackends({"a", "b"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream version_a { server 127.0.0.1:@a@; }
upstream version_b { server 127.0.0.1:@b@; }
split_clients "${cookie_uid}" $variant {
    20%  version_b;
    *    version_a;
}
server {
    listen 127.0.0.1:@PORT@;
    location / { proxy_pass http://$variant; }
}
)"));
  constexpr int kUsers = 400;
  int nginx_b = 0;
  int switchyard_b = 0;
  int same_side = 0;
  for (int user = 0; user < kUsers; ++user) {
    const Headers cookie = {{"Cookie", absl::StrCat("uid=user-", user * 7919)}};
    const Answer a = askNginx("/", cookie);
    const Answer b = askSwitchyard("/", cookie);
    ASSERT_EQ(a.status, 200);
    ASSERT_EQ(b.status, 200);
    nginx_b += a.backend == "b";
    switchyard_b += b.backend == "b";
    same_side += a.backend == b.backend;
    if (user % 50 == 0) {  // sticky: the same user lands on the same side again
      EXPECT_EQ(askNginx("/", cookie).backend, a.backend);
      EXPECT_EQ(askSwitchyard("/", cookie).backend, b.backend);
    }
  }
  std::printf(
      "split_clients 20%%: B share nginx %.3f, switchyard %.3f over %d users; "
      "same side for %.3f of users\n",
      nginx_b / double(kUsers), switchyard_b / double(kUsers), kUsers, same_side / double(kUsers));
  // 400 users at p = 0.2: one standard deviation is 0.02; allow four.
  EXPECT_NEAR(nginx_b / double(kUsers), 0.20, 0.08);
  EXPECT_NEAR(switchyard_b / double(kUsers), 0.20, 0.08);
}

// Host- and path-based routing over two server blocks, and the default server.
TEST_F(NginxDifferentialTest, HostAndPathRoutingAcrossTwoServers) {
  ASSERT_NO_FATAL_FAILURE(startBackends({"web", "api", "assets"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream web    { server 127.0.0.1:@web@; }
upstream api    { server 127.0.0.1:@api@; }
upstream assets { server 127.0.0.1:@assets@; }
server {
    listen 127.0.0.1:@PORT@;
    server_name www.example.com example.com;
    location / { proxy_pass http://web; }
    location /static/ { proxy_pass http://assets; }
    location /api/ { proxy_pass http://api; }
    location = /login { proxy_pass http://api; }
}
server {
    listen 127.0.0.1:@PORT@;
    server_name api.example.com *.api.example.com;
    location / { proxy_pass http://api; }
    location /static/ { proxy_pass http://assets; }
    location /static/v2/ { proxy_pass http://web; }
}
)"));
  struct Case {
    const char* host;
    const char* path;
  };
  const Case cases[] = {
      {"www.example.com", "/"},
      {"www.example.com", "/static/x.css"},
      {"example.com", "/api/users"},
      {"www.example.com", "/login"},
      {"api.example.com", "/"},
      {"api.example.com", "/static/a.png"},
      {"API.example.com", "/static/v2/b"},
      {"eu.api.example.com", "/static/v2/"},
      {"unknown.example.net", "/"},
      {"unknown.example.net", "/api/"},
      {"api.example.com:8080", "/x"},
      {"www.example.com", "/status/404"},
  };
  int agreed = 0;
  for (const Case& c : cases) {
    const Headers host = {{"Host", c.host}};
    const Answer a = askNginx(c.path, host);
    const Answer b = askSwitchyard(c.path, host);
    EXPECT_EQ(a.status, b.status) << c.host << c.path;
    EXPECT_EQ(a.backend, b.backend) << c.host << c.path;
    agreed += a.status == b.status && a.backend == b.backend;
  }
  std::printf("host/path routing: %d of %zu requests answered alike\n", agreed, std::size(cases));
  // Documented difference: `location =` becomes a prefix, so longer paths match it too.
  EXPECT_EQ(askNginx("/login/help", {{"Host", "www.example.com"}}).backend, "web");
  EXPECT_EQ(askSwitchyard("/login/help", {{"Host", "www.example.com"}}).backend, "api");
  EXPECT_TRUE(warned("location = /login: approximated"));
}

// An HTTPS server with h2: the import gives the listener nginx's certificate (a path relative to
// nginx.conf, written in full) and http2; both proxies then agree on h2 in ALPN, and answer an
// HTTP/1.1 request over TLS from the same backend.
TEST_F(NginxDifferentialTest, HttpsServerWithHttp2) {
  absl::StatusOr<std::unique_ptr<TestCertificates>> certificates = TestCertificates::create();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  absl::StatusOr<CertificateFiles> leaf =
      (*certificates)->issue("site", KeyType::kEcdsa, {"localhost"});
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  files_.writeFile("certs/.keep", "");
  std::filesystem::copy_file(leaf->cert, files_.file("certs/site.pem"));
  std::filesystem::copy_file(leaf->key, files_.file("certs/site.key"));
  ASSERT_NO_FATAL_FAILURE(startBackends({"blue"}));
  ASSERT_NO_FATAL_FAILURE(startBoth(R"(
upstream blue { server 127.0.0.1:@blue@; }
server {
    listen 127.0.0.1:@PORT@ ssl http2;
    server_name localhost;
    ssl_certificate certs/site.pem;
    ssl_certificate_key certs/site.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    location / { proxy_pass http://blue; }
}
)"));
  EXPECT_FALSE(warned("ssl_certificate")) << absl::StrJoin(warnings_, "\n");
  TlsClientOptions options;
  options.sni = "localhost";
  options.ca_file = (*certificates)->rootCa();
  options.alpn = {"h2", "http/1.1"};
  for (const uint16_t port : {nginx_port_, proxy_.port()}) {
    SCOPED_TRACE(port == nginx_port_ ? "nginx" : "switchyard");
    TlsClient h2;
    ASSERT_TRUE(h2.connect(port, options)) << h2.lastError();
    EXPECT_EQ(h2.alpn(), "h2");
    TlsClientOptions http11 = options;
    http11.alpn = {"http/1.1"};
    TlsClient client;
    ASSERT_TRUE(client.connect(port, http11)) << client.lastError();
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    const std::string response = client.readUntilClose();
    EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_NE(response.find("blue"), std::string::npos) << response;
  }
}

}  // namespace
}  // namespace sy::testing
