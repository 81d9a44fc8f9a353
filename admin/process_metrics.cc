#include "admin/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "admin/metric_families.h"

namespace sy::admin {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses:
// the last ')' ends it). fields[0] is field 3 (state) of proc(5).
std::vector<std::string> statFields() {
  std::ifstream file("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t end = text.rfind(')');
  std::vector<std::string> fields;
  if (end == std::string::npos) return fields;
  std::istringstream rest(text.substr(end + 1));
  std::string field;
  while (rest >> field) fields.push_back(field);
  return fields;
}

// The boot time, seconds since the epoch (btime of /proc/stat).
double bootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return 0;
}

double openFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

}  // namespace

void collectProcessMetrics(std::vector<prometheus::MetricFamily>* out) {
  using prometheus::MetricType;
  const std::vector<std::string> stat = statFields();
  // proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24 (fields[n - 3]).
  if (stat.size() >= 22) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double cpu =
        (std::strtod(stat[11].c_str(), nullptr) + std::strtod(stat[12].c_str(), nullptr)) / ticks;
    addUnlabeledFamily(out, "process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds.", MetricType::Counter,
                       cpu);
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    addUnlabeledFamily(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::Gauge, std::strtod(stat[21].c_str(), nullptr) * page);
    addUnlabeledFamily(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       MetricType::Gauge, std::strtod(stat[20].c_str(), nullptr));
    addUnlabeledFamily(out, "process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       bootTimeSeconds() + std::strtod(stat[19].c_str(), nullptr) / ticks);
  }
  addUnlabeledFamily(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                     openFds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    addUnlabeledFamily(out, "process_max_fds", "Maximum number of open file descriptors.",
                       MetricType::Gauge,
                       limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace sy::admin
