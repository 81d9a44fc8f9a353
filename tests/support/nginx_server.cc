#include "tests/support/nginx_server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace sy::testing {
namespace {

using std::chrono::milliseconds;

// Waits until something accepts connections on `port`, or the process exits.
bool waitForPort(uint16_t port, ChildProcess& process) {
  return waitUntil(
             [&] {
               HttpClient probe(milliseconds(200));
               return probe.connect(port) || !process.running();
             },
             milliseconds(10000)) &&
         process.running();
}

}  // namespace

std::string findProgram(const std::string& name) {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    dirs.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  for (const char* extra : {"/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"}) {
    dirs.emplace_back(extra);
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<NginxServer>> NginxServer::start(TempDir& dir,
                                                                const ServerBlock& server_block) {
  const std::string nginx = findProgram("nginx");
  if (nginx.empty()) {
    return absl::NotFoundError(
        "nginx is required for this test (Debian package nginx-light or nginx; scripts/setup.sh "
        "--test installs it); it was not found");
  }
  for (const char* sub : {"www", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"}) {
    dir.writeFile(std::string(sub) + "/.keep", "");
  }
  const std::string d = dir.path();
  std::unique_ptr<NginxServer> server(new NginxServer());
  server->dir_ = d;
  std::string last_output;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint16_t port = unusedPort();
    const std::string conf = absl::StrCat(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid ", d, "/nginx.pid;\n",
        "error_log ", d, "/error.log info;\nevents { worker_connections 64; }\nhttp {\n",
        "  access_log off;\n  default_type application/octet-stream;\n", "  client_body_temp_path ",
        d, "/tmp/body;\n  proxy_temp_path ", d, "/tmp/proxy;\n", "  fastcgi_temp_path ", d,
        "/tmp/fastcgi;\n  uwsgi_temp_path ", d, "/tmp/uwsgi;\n", "  scgi_temp_path ", d,
        "/tmp/scgi;\n  server {\n    root ", d, "/www;\n", server_block(port), "\n  }\n}\n");
    const std::string conf_path = dir.writeFile("nginx.conf", conf);
    absl::StatusOr<std::unique_ptr<ChildProcess>> started =
        ChildProcess::start({nginx, "-p", d, "-c", conf_path, "-e", d + "/error.log"});
    if (!started.ok()) return started.status();
    if (waitForPort(port, **started)) {
      server->process_ = std::move(*started);
      server->port_ = port;
      return server;
    }
    last_output = (*started)->output();
  }
  return absl::UnavailableError(
      absl::StrCat("nginx did not start: ", last_output, "\n", server->errorLog()));
}

NginxServer::~NginxServer() {
  if (process_ == nullptr) return;
  process_->signal(SIGTERM);
  process_->waitExit(milliseconds(5000));
}

std::string NginxServer::errorLog() const {
  std::ifstream in(dir_ + "/error.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sy::testing
