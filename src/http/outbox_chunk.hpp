#pragma once
// The frames one event stream writes in one go: the updates taken from its subscriber's outbox
// (kept alive until written or copied aside), as one HTTP chunk when the response is chunked,
// described by iovecs ready for sendmsg (on a TLS stream: sealed into records first). The reactor keeps a set of them
// for a batched flush (one per connection written in the batch) and one for direct writes; their memory is reused.

#include "core/update.hpp"
#include "http/tls_session.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

class SseConnection;

// "<hex size>\r\n" into `out` (at least 18 bytes); returns its length.
inline std::size_t format_chunk_head(char* out, std::size_t size) {
  char digits[16];
  std::size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[size & 0xf];
    size >>= 4;
  } while (size != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

struct OutboxChunk {
  // Buffers per sendmsg (well under IOV_MAX); a longer chunk is sent in several calls.
  static constexpr std::size_t kMaxIov = 128;

  std::vector<UpdatePtr> updates;
  std::vector<iovec> iov;
  std::size_t total = 0;  // bytes described by iov
  char head[20] = {};     // the chunk's size line
  // For a batched send: who writes it, the message handed to the kernel, and its result.
  SseConnection* owner = nullptr;
  msghdr msg{};
  int result = 0;
  // TLS: the chunk encrypted by seal(); iov then describes these records alone.
  std::string records;
  bool sealed = false;

  // Describes `updates` (taken from an outbox) as one chunk, or as bare frames.
  void build(bool chunked) {
    total = 0;
    for (const auto& u : updates) total += u->frame.size();
    iov.clear();
    if (chunked) {
      iov.push_back(iovec{head, format_chunk_head(head, total)});
      total += iov.back().iov_len + 2;
    }
    for (const auto& u : updates) iov.push_back(iovec{const_cast<char*>(u->frame.data()), u->frame.size()});
    if (chunked) iov.push_back(iovec{const_cast<char*>(kCrlf.data()), kCrlf.size()});
    msg = msghdr{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = std::min(iov.size(), kMaxIov);
  }
  // Encrypts what iov describes into `records` and describes those instead. False on a
  // failure of the session (the connection must end).
  bool seal(TlsSession& tls) {
    records.clear();
    if (!tls.write(iov, total, records)) return false;
    iov.assign(1, iovec{records.data(), records.size()});
    total = records.size();
    msg.msg_iov = iov.data();
    msg.msg_iovlen = 1;
    sealed = true;
    return true;
  }
  void clear() {
    updates.clear();
    iov.clear();
    owner = nullptr;
    sealed = false;
    if (records.capacity() > kKeepRecords) std::string().swap(records);
  }

  static constexpr std::size_t kKeepRecords = 64 * 1024;

  static constexpr std::string_view kCrlf = "\r\n";
};

}  // namespace mercure
