#pragma once

// Invariant checks in two tiers:
//   SY_CHECK(condition, message)   always on: a broken invariant that would corrupt state or
//                                  memory if the process went on (a bad worker index, ...).
//   SY_DCHECK(condition, message)  debug builds only (compiled out under NDEBUG): checks too
//                                  costly or too numerous for the request path, like thread roles.
// A failed check logs one `check_failed` event with file:line, the condition and the message,
// then aborts: a core dump at the broken invariant beats a wrong answer later.

namespace sy::core {

[[noreturn]] void checkFailed(const char* file, int line, const char* condition,
                              const char* message);

}  // namespace sy::core

#define SY_CHECK(condition, message)                                      \
  do {                                                                    \
    if (__builtin_expect(!(condition), 0)) {                              \
      ::sy::core::checkFailed(__FILE__, __LINE__, #condition, (message)); \
    }                                                                     \
  } while (false)

#ifdef NDEBUG
// Not evaluated, but still compiled: a check cannot rot in release-only code.
#define SY_DCHECK(condition, message) \
  do {                                \
    if (false) {                      \
      (void)(condition);              \
      (void)(message);                \
    }                                 \
  } while (false)
#else
#define SY_DCHECK(condition, message) SY_CHECK(condition, message)
#endif
