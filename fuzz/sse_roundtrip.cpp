// Fuzz target: SSE serialization round trip (core/sse_frame.hpp).
//
// An Update is built from the input (a length byte and an id, a length byte and a type, both
// without CR, LF or NUL as the publish form guarantees; a flag byte and an optional 8-byte
// retry; the rest is data, any bytes), serialized with make_sse_frame, and parsed
// back by a small strict parser written here from the WHATWG HTML "Server-sent events"
// parsing rules (9.2.6 "Interpreting an event stream"), on bytes: the UTF-8 decoding step is
// left out so that arbitrary bytes can be compared exactly.
// Properties, for one frame and for a stream of heartbeat + frame + frame:
//   - exactly one event per frame, dispatched by the frame's final blank line;
//   - event type == u.type, or "message" when u.type is empty;
//   - data == u.data with every CRLF, CR and LF turned into LF (the spec's line splitting);
//   - last event id == u.id; reconnection time == u.retry when set, unchanged otherwise;
//   - the frame never contains a line that is not "event", "retry", "id" or "data".
// The same is checked for updates that come from parse_publish_form when the input is a form.

#include "core/publish_form.hpp"
#include "core/sse_frame.hpp"
#include "core/update.hpp"

#include "fuzz_check.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace mercure;

struct Event {
  std::string type;
  std::string data;
  std::string last_event_id;
  std::optional<std::uint64_t> retry;  // reconnection time when this event was dispatched
};

// WHATWG "Interpreting an event stream", on bytes.
class EventStreamParser {
 public:
  // Feeds a complete chunk of the stream; returns the events it dispatched.
  std::vector<Event> feed(std::string_view stream) {
    std::vector<Event> events;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      // A line ends at CRLF, LF or CR. A line without an end is incomplete: not processed.
      std::size_t end = pos;
      while (end < stream.size() && stream[end] != '\r' && stream[end] != '\n') ++end;
      if (end == stream.size()) {
        trailing_ = stream.substr(pos);
        break;
      }
      const std::string_view line = stream.substr(pos, end - pos);
      pos = end + ((stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n') ? 2 : 1);
      process_line(line, events);
    }
    return events;
  }

  [[nodiscard]] std::string_view trailing() const { return trailing_; }
  [[nodiscard]] const std::vector<std::string>& unknown_fields() const { return unknown_; }

 private:
  void process_line(std::string_view line, std::vector<Event>& events) {
    if (line.empty()) {
      dispatch(events);
      return;
    }
    if (line.front() == ':') return;  // comment
    std::string_view field = line;
    std::string_view value;
    if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
      event_type_.assign(value);
    } else if (field == "data") {
      data_.append(value).push_back('\n');
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_event_id_.assign(value);
    } else if (field == "retry") {
      bool digits = !value.empty();
      for (const char c : value) digits = digits && c >= '0' && c <= '9';
      if (digits) {
        std::uint64_t ms = 0;
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
        if (ec == std::errc{} && p == value.data() + value.size()) retry_ = ms;
      }
    } else {
      unknown_.emplace_back(field);
    }
  }

  void dispatch(std::vector<Event>& events) {
    const std::string last_event_id = last_event_id_;  // "set the last event ID string"
    if (data_.empty()) {
      event_type_.clear();
      return;
    }
    data_.pop_back();  // the last LF
    events.push_back({event_type_.empty() ? "message" : event_type_, data_, last_event_id, retry_});
    data_.clear();
    event_type_.clear();
  }

  std::string event_type_;
  std::string data_;
  std::string last_event_id_;
  std::optional<std::uint64_t> retry_;
  std::string trailing_;
  std::vector<std::string> unknown_;
};

// Takes fields from the front of the input: a length byte then that many bytes (fewer at the end).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::string field(std::size_t max) {
    if (in_.empty()) return {};
    const std::size_t n = std::min<std::size_t>(static_cast<unsigned char>(in_.front()) % (max + 1), in_.size() - 1);
    std::string out(in_.substr(1, n));
    in_.remove_prefix(1 + n);
    return out;
  }
  std::optional<std::uint64_t> retry() {
    if (in_.empty() || (static_cast<unsigned char>(in_.front()) & 1) == 0) {
      if (!in_.empty()) in_.remove_prefix(1);
      return std::nullopt;
    }
    in_.remove_prefix(1);
    std::uint64_t v = 0;
    for (int i = 0; i < 8 && !in_.empty(); ++i) {
      v = (v << 8) | static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
    }
    return v;
  }
  std::string rest() { return std::string(std::exchange(in_, {})); }

 private:
  std::string_view in_;
};

std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string without_breaking_bytes(std::string s) {
  std::erase_if(s, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
  return s;
}

void check_event(const Event& e, const Update& u, std::optional<std::uint64_t> retry_before) {
  FUZZ_CHECK(e.type == (u.type.empty() ? "message" : u.type));
  FUZZ_CHECK(e.data == normalize_newlines(u.data));
  FUZZ_CHECK(e.last_event_id == u.id);
  FUZZ_CHECK(e.retry == (u.retry ? u.retry : retry_before));
}

void check_update(const Update& u) {
  const std::string frame = make_sse_frame(u);
  FUZZ_CHECK(frame.ends_with("\n\n"));

  EventStreamParser one;
  const auto events = one.feed(frame);
  FUZZ_CHECK(events.size() == 1);
  FUZZ_CHECK(one.trailing().empty());
  FUZZ_CHECK(one.unknown_fields().empty());
  check_event(events[0], u, std::nullopt);

  // A stream: the head's comment, this frame, then a second update after it. The second
  // event must not inherit anything from the first but the id and the reconnection time.
  Update second;
  second.id = "second";
  second.data = "x";
  EventStreamParser stream;
  const auto both =
      stream.feed(std::string(sse_heartbeat()) + frame + std::string(sse_heartbeat()) + make_sse_frame(second));
  FUZZ_CHECK(both.size() == 2);
  check_event(both[0], u, std::nullopt);
  check_event(both[1], second, u.retry);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // 1. Fields drawn from the bytes, preconditions enforced as the publish path does.
  {
    Reader in(std::string_view(reinterpret_cast<const char*>(data), size));
    Update u;
    u.id = without_breaking_bytes(in.field(64));
    u.type = without_breaking_bytes(in.field(32));
    u.retry = in.retry();
    u.data = in.rest();
    check_update(u);
  }
  // 2. The input as a publish form: whatever the parser accepts must serialize safely.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto form = parse_publish_form(input)) {
    Update u;
    u.id = form->id.value_or("urn:uuid:00000000-0000-7000-8000-000000000000");
    u.type = form->type.value_or("");
    u.data = form->data.value_or("");
    if (form->retry) {
      std::uint64_t ms = 0;
      std::from_chars(form->retry->data(), form->retry->data() + form->retry->size(), ms);
      u.retry = ms;
    }
    u.topics = form->topics;
    check_update(u);
  }
  return 0;
}
