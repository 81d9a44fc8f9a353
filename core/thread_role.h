#pragma once

// Which loop the calling thread runs: the control thread (configuration, admin, health) or a
// worker (the request path). Objects of one side are not locked: a call from the wrong thread
// is a data race, so the functions that belong to one side say so with a debug check.
//
// A thread has no role until it marks itself (the control loop in Server::run, each worker at
// the start of its thread); unit tests that drive one side in-process mark the test thread with
// ScopedThreadRole.

#include <cstdint>

#include "core/assert.h"

namespace sy::core {

enum class ThreadRole : uint8_t { kNone, kControl, kWorker };

// Marks the calling thread. `worker` is the worker's index (ignored for the control thread).
void setThreadRole(ThreadRole role, uint32_t worker = 0);
ThreadRole threadRole();
// The calling worker's index; meaningful only when threadRole() is kWorker.
uint32_t threadWorkerIndex();
const char* threadRoleName(ThreadRole role);

// Gives the calling thread a role for a scope and restores the previous one (tests).
class ScopedThreadRole {
 public:
  explicit ScopedThreadRole(ThreadRole role, uint32_t worker = 0);
  ~ScopedThreadRole();
  ScopedThreadRole(const ScopedThreadRole&) = delete;
  ScopedThreadRole& operator=(const ScopedThreadRole&) = delete;

 private:
  ThreadRole previous_role_;
  uint32_t previous_worker_;
};

}  // namespace sy::core

#define SY_DCHECK_ON_CONTROL_THREAD()                                     \
  SY_DCHECK(::sy::core::threadRole() == ::sy::core::ThreadRole::kControl, \
            "must run on the control thread")
#define SY_DCHECK_ON_WORKER_THREAD()                                     \
  SY_DCHECK(::sy::core::threadRole() == ::sy::core::ThreadRole::kWorker, \
            "must run on a worker thread")
