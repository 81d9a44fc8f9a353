#include "proxy/service_notify.h"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace sy::proxy {
namespace {

void send(const std::string& state) {
  // A failed notification must not stop the proxy: systemd times the start out by itself.
  (void)sd_notify(/*unset_environment=*/0, state.c_str());
}

}  // namespace

void notifyReady() { send("READY=1\nSTATUS=serving"); }

void notifyReloading() {
  // sd_notify(3): RELOADING=1 must carry MONOTONIC_USEC, the CLOCK_MONOTONIC time in
  // microseconds, so that systemd can tell this reload from an earlier one.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned long long usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                                  static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notifyMainPid(int pid) {
  send("MAINPID=" + std::to_string(pid) + "\nSTATUS=upgraded: pid " + std::to_string(pid) +
       " serves, this one drains");
}

void notifyStopping() { send("STOPPING=1\nSTATUS=draining in-flight requests"); }

}  // namespace sy::proxy
