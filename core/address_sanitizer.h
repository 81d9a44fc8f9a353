#pragma once

// SY_ADDRESS_SANITIZER is 1 in a build with AddressSanitizer, 0 otherwise. GCC says so with
// __SANITIZE_ADDRESS__; clang (the fuzz build) only through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define SY_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SY_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef SY_ADDRESS_SANITIZER
#define SY_ADDRESS_SANITIZER 0
#endif
