#pragma once
// A connected, non-blocking AF_UNIX stream pair for tests of the send paths: `ours` is written
// by the code under test, read_all() drains what reached `peer`.

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace mercure::test {

struct SocketPair {
  int ours = -1;
  int peer = -1;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0) {
      ours = fds[0];
      peer = fds[1];
    }
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  ~SocketPair() {
    if (ours >= 0) ::close(ours);
    if (peer >= 0) ::close(peer);
  }
  // Shrinks `ours`' send buffer and writes until the kernel takes no more (nothing reads
  // `peer`); true when that ended on EAGAIN, as a client that stopped reading makes it.
  [[nodiscard]] bool fill() const {
    const int small = 4096;
    ::setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const std::string filler(4096, 'x');
    while (::send(ours, filler.data(), filler.size(), MSG_DONTWAIT) > 0) {
    }
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  [[nodiscard]] std::string read_all() const {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
};

}  // namespace mercure::test
