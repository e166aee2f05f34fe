#include "core/credential_files.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mercure {

std::string unreadable_reason(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  // fopen() opens a directory for reading; its first read fails with EISDIR.
  const bool directory = std::fgetc(f) == EOF && std::ferror(f) != 0 && errno == EISDIR;
  std::fclose(f);
  return directory ? "it is a directory" : "";
}

std::string openssl_reason(std::string_view fallback) {
  const unsigned long first = ERR_peek_error();
  const char* reason = first != 0 ? ERR_reason_error_string(first) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? std::string(reason) : std::string(fallback);
}

}  // namespace mercure
