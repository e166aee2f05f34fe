#include "transport/event_record.hpp"

#include <cassert>
#include <cstring>

namespace mercure {

namespace {

constexpr std::uint8_t kFlagPrivate = 0x01;

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* put_bytes(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Reads from a bounded input; every read checks what is left.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool byte(std::uint8_t& out) {
    if (pos_ >= in_.size()) return false;
    out = static_cast<std::uint8_t>(in_[pos_++]);
    return true;
  }

  bool varint(std::uint64_t& out) {
    out = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) return false;
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return false;
      out |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  bool bytes(std::string_view& out) {
    std::uint64_t n = 0;
    if (!varint(n) || n > remaining()) return false;
    out = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }

  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

Error malformed(const char* what) {
  return Error{Errc::internal, std::string("malformed event record: ") + what};
}

}  // namespace

std::size_t event_record_size(const Update& update) {
  std::size_t n = 2 + varint_size(update.id.size()) + update.id.size() + varint_size(update.topics.size());
  for (const auto& t : update.topics) n += varint_size(t.size()) + t.size();
  return n + varint_size(update.frame.size()) + update.frame.size();
}

void write_event_record(const Update& update, std::span<char> out) {
  assert(out.size() == event_record_size(update));
  char* p = out.data();
  *p++ = static_cast<char>(kEventRecordVersion);
  *p++ = static_cast<char>(update.is_private ? kFlagPrivate : 0);
  p = put_varint(p, update.id.size());
  p = put_bytes(p, update.id);
  p = put_varint(p, update.topics.size());
  for (const auto& t : update.topics) {
    p = put_varint(p, t.size());
    p = put_bytes(p, t);
  }
  p = put_varint(p, update.frame.size());
  p = put_bytes(p, update.frame);
  assert(p == out.data() + out.size());
  (void)p;
}

std::string encode_event_record(const Update& update) {
  std::string out(event_record_size(update), '\0');
  write_event_record(update, std::span<char>(out.data(), out.size()));
  return out;
}

Result<EventRecordView> decode_event_record(std::string_view record, TopicViews& topics) {
  topics.clear();
  Reader r(record);
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  if (!r.byte(version)) return malformed("empty");
  if (version != kEventRecordVersion) return malformed("unknown version");
  if (!r.byte(flags)) return malformed("truncated flags");
  if ((flags & ~kFlagPrivate) != 0) return malformed("unknown flags");
  EventRecordView view;
  view.is_private = (flags & kFlagPrivate) != 0;
  if (!r.bytes(view.id)) return malformed("truncated id");
  std::uint64_t count = 0;
  if (!r.varint(count)) return malformed("truncated topic count");
  // Each topic takes at least one byte: a count above what is left is a lie (and must not
  // make us reserve memory for it).
  if (count > r.remaining()) return malformed("bad topic count");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string_view topic;
    if (!r.bytes(topic)) return malformed("truncated topic");
    topics.push_back(topic);
  }
  if (!r.bytes(view.frame)) return malformed("truncated frame");
  if (r.remaining() != 0) return malformed("trailing bytes");
  return view;
}

}  // namespace mercure
