#pragma once

#include <csignal>

namespace sy::core {

// The signals the control loop handles: SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2. Worker threads
// keep them blocked, so that only the control thread ever receives them.

// Blocks them in the calling thread (threads it starts inherit that); returns the old mask.
sigset_t blockControlSignals();
void restoreSignalMask(const sigset_t& previous);

// Ignores them from now on. Closing the last libuv handle of a signal restores its default
// action (death, for all five): the process calls this, with the signals blocked, right after
// closing its handles, so that a signal arriving while it exits is dropped.
void ignoreControlSignals();

}  // namespace sy::core
