#pragma once

#include <uv.h>

#include <utility>

namespace sy::core {

// Owns a heap-allocated libuv handle (uv_timer_t, uv_tcp_t, ...). libuv may still touch a handle
// after uv_close() until the loop runs its close callback, so the memory is freed there and not
// when the owner goes: close-then-free, in one place. The handle must be initialised
// (uv_*_init) before the owner is reset or destroyed; `init` below does both steps.
template <typename Handle>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { reset(); }
  UvHandle(UvHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  // Allocates the handle and runs `init_function(loop, handle, args...)` (uv_timer_init,
  // uv_tcp_init, ...). On failure nothing is kept and the libuv error code is returned.
  template <typename InitFunction, typename... Args>
  int init(uv_loop_t* loop, InitFunction init_function, Args&&... args) {
    reset();
    auto* handle = new Handle{};
    const int rc = init_function(loop, handle, std::forward<Args>(args)...);
    if (rc != 0) {
      delete handle;  // never registered with the loop: nothing to close
      return rc;
    }
    handle_ = handle;
    return 0;
  }

  Handle* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  uv_handle_t* asHandle() const { return reinterpret_cast<uv_handle_t*>(handle_); }

  // Closes the handle (its callbacks stop at once) and frees it from the close callback.
  void reset() {
    if (handle_ == nullptr) return;
    uv_close(asHandle(), [](uv_handle_t* handle) { delete reinterpret_cast<Handle*>(handle); });
    handle_ = nullptr;
  }

 private:
  Handle* handle_ = nullptr;
};

}  // namespace sy::core
