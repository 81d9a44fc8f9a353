#include "core/thread_role.h"

namespace sy::core {
namespace {

thread_local ThreadRole current_role = ThreadRole::kNone;
thread_local uint32_t current_worker = 0;

}  // namespace

void setThreadRole(ThreadRole role, uint32_t worker) {
  current_role = role;
  current_worker = role == ThreadRole::kWorker ? worker : 0;
}

ThreadRole threadRole() { return current_role; }

uint32_t threadWorkerIndex() { return current_worker; }

const char* threadRoleName(ThreadRole role) {
  switch (role) {
    case ThreadRole::kNone:
      return "none";
    case ThreadRole::kControl:
      return "control";
    case ThreadRole::kWorker:
      return "worker";
  }
  return "none";
}

ScopedThreadRole::ScopedThreadRole(ThreadRole role, uint32_t worker)
    : previous_role_(current_role), previous_worker_(current_worker) {
  setThreadRole(role, worker);
}

ScopedThreadRole::~ScopedThreadRole() {
  current_role = previous_role_;
  current_worker = previous_worker_;
}

}  // namespace sy::core
