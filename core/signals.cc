#include "core/signals.h"

#include <pthread.h>

namespace sy::core {
namespace {

constexpr int kControlSignals[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2};

sigset_t controlSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  for (const int signum : kControlSignals) sigaddset(&set, signum);
  return set;
}

}  // namespace

sigset_t blockControlSignals() {
  const sigset_t set = controlSignalSet();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  return previous;
}

void restoreSignalMask(const sigset_t& previous) {
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void ignoreControlSignals() {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (const int signum : kControlSignals) sigaction(signum, &ignore, nullptr);
}

}  // namespace sy::core
