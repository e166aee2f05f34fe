#pragma once
// One event stream on an HTTP/2 connection (h2_connection.hpp): the subscriber of one stream,
// its history replay and its deadlines. It never writes to a socket: nghttp2 asks it for the
// stream's next bytes (read(), from the DATA frame's provider) whenever the stream's flow-control
// window allows, and it asks for that (the `resume` callback) when something was pushed.
//
// Frames are taken from the outbox only when what was taken before is all given to nghttp2, so
// the outbox limits bound a subscriber that does not read (its window stays shut) as on HTTP/1.1:
// an overflow ends the stream. Ends at the token's expiry, at its jittered lifetime and at
// shutdown (after what is pending, END_STREAM), when bytes wait past dispatch_timeout, or when
// the peer resets the stream or the connection goes.
//
// Shard thread only.

#include "core/metrics.hpp"
#include "http/sse_stream.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mercure {

class Shard;

class H2EventStream final {
 public:
  using Clock = std::chrono::steady_clock;
  using End = DisconnectReason;
  // What read() gave nghttp2.
  enum class Read { data, deferred, eof, reset };

  // `resume`: asks the connection to call read() again (new frames, a heartbeat, the end).
  H2EventStream(Shard& shard, SseStart start, std::function<void()> resume);
  ~H2EventStream();
  H2EventStream(const H2EventStream&) = delete;
  H2EventStream& operator=(const H2EventStream&) = delete;

  // Registers the subscriber in the shard's index; the first bytes are a comment.
  void begin(Clock::time_point now);
  // Copies up to `size` bytes of the stream into `out` (`copied`).
  Read read(std::uint8_t* out, std::size_t size, std::size_t& copied, Clock::time_point now);
  // The earliest deadline (heartbeat, expiry, lifetime, bytes waiting for the client's window,
  // the end waiting for it), or max(). Never one on_deadline() would leave as it is.
  [[nodiscard]] Clock::time_point next_deadline() const;
  // Deadlines that came: false when the stream must be reset now (`why` set).
  bool on_deadline(Clock::time_point now, End& why);
  // Ends after what is pending (END_STREAM): shutdown, expiry, lifetime.
  void finish(End why);
  // The stream is gone (closed, reset, or its connection ended): leaves the index.
  void close(End why);
  void announce_again() {
    if (registered_ && start_.settings.on_registered) start_.settings.on_registered();
  }
  [[nodiscard]] const std::string& remote() const { return start_.remote; }
  void set_resume(std::function<void()> resume) { resume_ = std::move(resume); }
  // The outbox overflowed (the subscriber does not keep up): the stream must be reset.
  [[nodiscard]] bool overflowed() const { return registered_ && start_.subscriber->overflowed(); }

  // The connection's bookkeeping: a resume of this stream is queued.
  bool resume_queued = false;

 private:
  // Fills pending_ from the replay or the outbox; false when there was nothing to take.
  bool refill(Clock::time_point now);
  // Something was pushed, or a heartbeat or the end is due: the stream waits for nghttp2 (and
  // the client's window) from now, unless it already did.
  void mark_waiting(Clock::time_point now);
  // Bytes, frames, a replay or the end wait to be handed to nghttp2.
  [[nodiscard]] bool waiting() const;
  void wake();

  Shard& shard_;
  SseStart start_;
  std::function<void()> resume_;
  bool registered_ = false;
  bool finishing_ = false;
  End end_ = End::shutdown;
  std::string pending_;  // bytes not given to nghttp2 yet
  std::size_t pending_offset_ = 0;
  std::size_t pending_events_ = 0;
  DeliverySource pending_source_ = DeliverySource::live;
  // read() last found nothing to give (nghttp2 waits for resume_); else since when it waits.
  bool idle_ = true;
  Clock::time_point waiting_since_{};
  Clock::time_point finishing_since_{};
  Clock::time_point last_write_{};
};

}  // namespace mercure
