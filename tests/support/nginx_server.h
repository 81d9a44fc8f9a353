#pragma once

// nginx as a real third-party backend: a minimal configuration (no daemon, one worker, every
// temporary path inside the test's directory) around one `server { ... }` block of the test's.
//
//   auto nginx = NginxServer::start(dir, [](uint16_t port) {
//     return absl::StrCat("listen 127.0.0.1:", port, ";\nlocation / { return 200 ok; }\n");
//   });
//   ASSERT_TRUE(nginx.ok()) << nginx.status();

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sy::testing {

// The first executable named `name` in PATH, then in the sbin directories (nginx lives there
// and PATH of an unprivileged shell may not have them); empty when there is none.
std::string findProgram(const std::string& name);

class NginxServer {
 public:
  // The body of the server block for a given port (it must listen on 127.0.0.1:PORT).
  using ServerBlock = std::function<std::string(uint16_t port)>;

  // Writes nginx.conf into `dir` (which must outlive the server; the document root is
  // DIR/www) and starts nginx on a free port. The port is picked here (nginx cannot report one
  // it chose); another process could take it before nginx binds, so a few are tried. An error
  // names the reason: nginx missing, or its output when it did not start.
  static absl::StatusOr<std::unique_ptr<NginxServer>> start(TempDir& dir,
                                                            const ServerBlock& server_block);
  ~NginxServer();  // SIGTERM, then waits for the exit
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  uint16_t port() const { return port_; }
  ChildProcess& process() { return *process_; }
  // nginx's error log, for failure messages.
  std::string errorLog() const;

 private:
  NginxServer() = default;

  std::unique_ptr<ChildProcess> process_;
  std::string dir_;
  uint16_t port_ = 0;
};

}  // namespace sy::testing
