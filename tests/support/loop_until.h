#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

namespace sy::testing {

// Turns `loop` one iteration at a time until `done` holds (checked between iterations); false
// when `deadline` passed first. The loop needs something that wakes it (a repeating timer, the
// sockets under test), or an iteration can block.
inline bool runLoopUntil(uv_loop_t* loop, const std::function<bool()>& done,
                         std::chrono::steady_clock::duration deadline = std::chrono::seconds(20)) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    uv_run(loop, UV_RUN_ONCE);
  }
  return true;
}

}  // namespace sy::testing
