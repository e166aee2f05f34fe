#include "http/h2_event_stream.hpp"

#include "core/sse_frame.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace mercure {

namespace {

// One replay step reads at most this much of the history (as on HTTP/1.1).
constexpr std::size_t kReplayEventsPerStep = 1024;
constexpr std::size_t kReplayBytesPerStep = 64 * 1024;
// pending_ gives its memory back once given away when it grew past this.
constexpr std::size_t kKeepPendingCapacity = 4096;
// How long the end of a finishing stream may wait for the client's window when
// dispatch_timeout is off.
constexpr auto kFinishGrace = std::chrono::seconds(5);
// Replay steps that matched nothing before read() gives the event loop back.
constexpr int kReplayStepsPerRead = 8;

}  // namespace

H2EventStream::H2EventStream(Shard& shard, SseStart start, std::function<void()> resume)
    : shard_(shard), start_(std::move(start)), resume_(std::move(resume)) {}

H2EventStream::~H2EventStream() {
  close(End::client_gone);
}

void H2EventStream::begin(Clock::time_point now) {
  Subscriber& sub = *start_.subscriber;
  if (start_.replay) sub.start_replay();  // buffer live updates from registration on
  sub.set_wake([this] { wake(); });
  shard_.index().add(start_.subscriber.get());
  registered_ = true;
  shard_.h2_stream_opened();
  shard_.metrics().subscriber_connected(shard_.id());
  if (start_.settings.on_registered) start_.settings.on_registered();
  pending_ = sse_heartbeat();  // the response's first bytes: the client sees the stream open
  last_write_ = now;
  mark_waiting(now);
}

void H2EventStream::wake() {
  mark_waiting(Clock::now());
  resume_();
}

void H2EventStream::mark_waiting(Clock::time_point now) {
  if (!idle_) return;
  idle_ = false;
  waiting_since_ = now;
}

bool H2EventStream::waiting() const {
  return registered_ && !idle_ &&
         (pending_offset_ < pending_.size() || finishing_ ||
          // While replaying, buffered live updates wait for the replay, not for nghttp2.
          (start_.replay ? !start_.replay->reading() : start_.subscriber->has_pending()));
}

bool H2EventStream::refill(Clock::time_point now) {
  if (pending_.capacity() > kKeepPendingCapacity) {
    std::string().swap(pending_);
  } else {
    pending_.clear();
  }
  pending_offset_ = 0;
  pending_events_ = 0;
  Subscriber& sub = *start_.subscriber;
  // Steps that match nothing go on, a few at a time: then the stream asks to be read again,
  // after the shard's other work.
  for (int step = 0; start_.replay && pending_.empty(); ++step) {
    if (step == kReplayStepsPerRead) {
      waiting_since_ = now;  // progress through the history, if not bytes yet
      resume_();
      return false;
    }
    ReplayReader& replay = *start_.replay;
    const std::uint64_t sent_before = replay.sent();
    auto stepped = replay.step(sub, pending_, kReplayEventsPerStep, kReplayBytesPerStep, [this] {
      // The read ended: the stream waits for nghttp2 from now (the read's time is no stall).
      idle_ = false;
      waiting_since_ = Clock::now();
      resume_();
    });
    if (!stepped) {
      close(end_of_failed_replay(stepped.error(), start_.remote));
      return false;
    }
    if (*stepped == ReplayReader::Step::waiting) return false;  // resumed when the read ends
    pending_events_ = replay.sent() - sent_before;
    pending_source_ = DeliverySource::history;
    if (*stepped == ReplayReader::Step::done) {
      // Every update stored up to the read was replayed or is buffered (see HistoryReplay).
      sub.go_live(replay.cursor());
      start_.replay.reset();
    }
  }
  if (pending_.empty() && !start_.replay && sub.has_pending()) {
    thread_local std::vector<UpdatePtr> taken;
    sub.take_pending(taken);
    for (const auto& u : taken) pending_ += u->frame;
    pending_events_ = taken.size();
    pending_source_ = DeliverySource::live;
    taken.clear();
  }
  return !pending_.empty();
}

H2EventStream::Read H2EventStream::read(std::uint8_t* out, std::size_t size, std::size_t& copied,
                                        Clock::time_point now) {
  copied = 0;
  if (!registered_) return Read::reset;
  if (start_.subscriber->overflowed()) {
    close(End::slow);
    return Read::reset;
  }
  if (pending_offset_ == pending_.size()) {
    if (finishing_ && start_.replay) return Read::eof;  // not the rest of a replay at the end
    if (!refill(now)) {
      if (!registered_) return Read::reset;  // the history failed
      if (finishing_ && !start_.replay) return Read::eof;
      // A replay that asked to go on is still waiting (refill queued a resume).
      if (!start_.replay) idle_ = true;
      return Read::deferred;
    }
  }
  copied = std::min(size, pending_.size() - pending_offset_);
  std::memcpy(out, pending_.data() + pending_offset_, copied);
  pending_offset_ += copied;
  last_write_ = now;
  waiting_since_ = now;  // progress: what is left waits from now
  if (pending_offset_ == pending_.size()) {
    if (pending_events_ > 0) {
      shard_.metrics().delivered(shard_.id(), pending_source_, pending_events_);
      pending_events_ = 0;
    }
    // All given: nothing waits now, even if nghttp2 (its window just used up) does not ask
    // again; the next push, heartbeat or end starts the wait from then.
    if (!start_.replay && !finishing_ && !start_.subscriber->has_pending()) idle_ = true;
  }
  return Read::data;
}

H2EventStream::Clock::time_point H2EventStream::next_deadline() const {
  if (!registered_) return Clock::time_point::max();
  const auto& s = start_.settings;
  auto at = Clock::time_point::max();
  const bool waits = waiting();
  if (waits && s.dispatch_timeout.count() > 0) at = waiting_since_ + s.dispatch_timeout;
  if (finishing_) return std::min(at, finishing_since_ + std::chrono::duration_cast<Clock::duration>(kFinishGrace));
  if (!waits && s.heartbeat.count() > 0) at = std::min(at, last_write_ + s.heartbeat);
  if (s.token_expiry) at = std::min(at, *s.token_expiry);
  if (s.end_of_life) at = std::min(at, *s.end_of_life);
  return at;
}

bool H2EventStream::on_deadline(Clock::time_point now, End& why) {
  if (!registered_) return true;
  const auto& s = start_.settings;
  const bool waits = waiting();
  if (waits && s.dispatch_timeout.count() > 0 && now >= waiting_since_ + s.dispatch_timeout) {
    // The client's window stayed shut (it does not read this stream) past dispatch_timeout.
    why = End::write_timeout;
    close(why);
    return false;
  }
  if (finishing_) {
    if (now < finishing_since_ + std::chrono::duration_cast<Clock::duration>(kFinishGrace)) return true;
    why = end_;
    close(why);  // its end never got a window
    return false;
  }
  if (s.token_expiry && now >= *s.token_expiry) {
    finish(End::token_expired);
  } else if (s.end_of_life && now >= *s.end_of_life) {
    finish(End::lifetime);
  } else if (!waits && s.heartbeat.count() > 0 && now >= last_write_ + s.heartbeat) {
    pending_ = sse_heartbeat();
    pending_offset_ = 0;
    last_write_ = now;
    mark_waiting(now);
    resume_();
  }
  return true;
}

void H2EventStream::finish(End why) {
  if (finishing_ || !registered_) return;
  finishing_ = true;
  end_ = why;
  const auto now = Clock::now();
  finishing_since_ = now;
  mark_waiting(now);
  resume_();  // what is pending, then END_STREAM
}

void H2EventStream::close(End why) {
  if (!registered_) return;
  registered_ = false;
  if (finishing_ && why == End::client_gone) why = end_;  // the END_STREAM it sent was the end
  shard_.h2_stream_closed();
  shard_.index().remove(start_.subscriber.get());
  shard_.metrics().subscriber_disconnected(shard_.id(), why);
  if (start_.settings.on_unregistered) start_.settings.on_unregistered();
  if (why == End::slow || why == End::write_timeout || why == End::history_failed) {
    spdlog::info("subscriber {} disconnected: {}", start_.remote, disconnect_reason_name(why));
  } else {
    spdlog::debug("subscriber {} disconnected: {}", start_.remote, disconnect_reason_name(why));
  }
  start_.subscriber->set_wake({});
  start_.replay.reset();
  std::string().swap(pending_);
  pending_offset_ = 0;
}

}  // namespace mercure
