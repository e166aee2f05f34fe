#pragma once
// Shared by the fuzz targets: a property check that stops the run with a readable message.
// abort() is a crash to libFuzzer: the input is saved as an artifact.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace mercure::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "\n%s:%d: property violated: %s", file, line, what);
  if (!detail.empty()) std::fprintf(stderr, " [%.*s]", static_cast<int>(detail.size()), detail.data());
  std::fprintf(stderr, "\n");
  std::abort();
}

}  // namespace mercure::fuzz

#define FUZZ_CHECK(cond)                                           \
  do {                                                             \
    if (!(cond)) ::mercure::fuzz::fail(__FILE__, __LINE__, #cond); \
  } while (false)

#define FUZZ_CHECK_MSG(cond, detail)                                         \
  do {                                                                       \
    if (!(cond)) ::mercure::fuzz::fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (false)
