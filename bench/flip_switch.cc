#include "flip_switch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace flip_load {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "flip_load: %s\n", message.c_str());
  std::exit(2);
}

std::string replaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

sockaddr_in loopbackAddress(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("bad address " + host);
  // The harness only ever targets the loopback interface.
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) die("refusing non-loopback address " + host);
  return addr;
}

namespace {

// Blocking: returns an error message, empty on success.
std::string switchHttp(const std::vector<std::string>& spec, const std::string& pool) {
  // http:HOST:PORT:PATH
  const sockaddr_in addr = loopbackAddress(spec[1], std::atoi(spec[2].c_str()));
  const std::string path = replaceAll(spec[3], "{pool}", pool);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket failed";
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return std::string("admin connect: ") + std::strerror(errno);
  }
  const std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + spec[1] +
                              "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "admin write failed";
  }
  std::string answer;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    // Done once the head and Content-Length bytes of body are there (do not wait for the close).
    const size_t head_end = answer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string lower = answer.substr(0, head_end);
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      const size_t cl = lower.find("content-length:");
      if (cl != std::string::npos &&
          answer.size() >= head_end + 4 + std::strtoul(lower.c_str() + cl + 15, nullptr, 10)) {
        break;
      }
    }
  }
  close(fd);
  if (answer.compare(0, 10, "HTTP/1.1 2") != 0) {
    return "admin answered: " + answer.substr(0, answer.find("\r\n"));
  }
  return "";
}

std::string switchUnix(const std::vector<std::string>& spec, const std::string& pool) {
  // unix:SOCKET:LINE
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (spec[1].size() >= sizeof addr.sun_path) return "socket path too long";
  std::memcpy(addr.sun_path, spec[1].c_str(), spec[1].size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket failed";
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return std::string("connect ") + spec[1] + ": " + std::strerror(errno);
  }
  const std::string line = replaceAll(spec[2], "{pool}", pool) + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    return "write failed";
  }
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(n));
  close(fd);
  // HAProxy answers an empty line on success, a message otherwise.
  if (answer.find_first_not_of("\r\n ") != std::string::npos) return "answered: " + answer;
  return "";
}

std::string switchNginx(const std::vector<std::string>& spec, const std::string& pool) {
  // nginx:PIDFILE:DEST:SOURCE
  std::ifstream pidfile(spec[1]);
  long pid = 0;
  if (!(pidfile >> pid) || pid <= 1) return "cannot read pid from " + spec[1];
  const std::string source = replaceAll(spec[3], "{pool}", pool);
  std::ifstream in(source, std::ios::binary);
  if (!in) return "cannot read " + source;
  std::stringstream content;
  content << in.rdbuf();
  const std::string temp = spec[2] + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content.str();
    if (!out) return "cannot write " + temp;
  }
  if (std::rename(temp.c_str(), spec[2].c_str()) != 0) return "rename failed";
  if (kill(static_cast<pid_t>(pid), SIGHUP) != 0)
    return std::string("kill: ") + std::strerror(errno);
  return "";
}

}  // namespace

std::string doSwitch(const std::vector<std::string>& spec, const std::string& pool) {
  if (spec[0] == "http") return switchHttp(spec, pool);
  if (spec[0] == "unix") return switchUnix(spec, pool);
  return switchNginx(spec, pool);
}

}  // namespace flip_load
