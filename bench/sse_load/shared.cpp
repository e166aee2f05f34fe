#include "shared.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

namespace bench::sse_load {

Shared map_shared(int procs, int publishers, int topics) {
  auto align = [](std::size_t n) { return (n + 63) & ~std::size_t{63}; };
  const std::size_t control = align(sizeof(Control));
  const std::size_t results = align(sizeof(ProcResult) * static_cast<std::size_t>(procs));
  const std::size_t published = align(sizeof(std::uint32_t) * static_cast<std::size_t>(std::max(publishers, 1)) *
                                      static_cast<std::size_t>(topics));
  void* p = mmap(nullptr, control + results + published, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap: " + std::string(strerror(errno)));
  auto* base = static_cast<char*>(p);
  Shared s;
  s.control = new (base) Control();
  s.results = reinterpret_cast<ProcResult*>(base + control);
  for (int i = 0; i < procs; ++i) new (s.results + i) ProcResult();
  s.published = reinterpret_cast<std::uint32_t*>(base + control + results);  // zero-filled by mmap
  return s;
}

}  // namespace bench::sse_load
