// Symbol visibility for libexecutor. The library is built with hidden visibility by default;
// everything a user may call is marked EXECUTOR_API.
#pragma once

#if defined(__GNUC__)
#define EXECUTOR_API __attribute__((visibility("default")))
#else
#define EXECUTOR_API
#endif
