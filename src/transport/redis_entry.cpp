#include "transport/redis_entry.hpp"

#include "transport/event_record.hpp"
#include "transport/redis_connection.hpp"
#include "transport/url_query.hpp"

#include <hiredis/hiredis.h>

namespace mercure {

namespace {

constexpr unsigned kSeqBits = 20;
constexpr std::uint64_t kMaxMillis = (std::uint64_t{1} << (64 - kSeqBits)) - 1;
constexpr std::uint64_t kMaxSeqInMilli = (std::uint64_t{1} << kSeqBits) - 1;

Error malformed(std::string reason) {
  return Error{Errc::internal, "stream entry: " + std::move(reason)};
}

std::string_view text_of(const redisReply& r) {
  return r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS ? std::string_view(r.str, r.len)
                                                                      : std::string_view{};
}

void put_field(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

bool take_field(std::string_view& in, std::string_view& out) {
  const std::size_t colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  auto n = parse_unsigned<std::size_t>(in.substr(0, colon));
  if (!n || *n > in.size() - colon - 1) return false;
  out = in.substr(colon + 1, *n);
  in.remove_prefix(colon + 1 + *n);
  return true;
}

}  // namespace

Result<std::uint64_t> seq_from_entry_id(std::string_view entry_id) {
  const std::size_t dash = entry_id.find('-');
  if (dash == std::string_view::npos) return malformed("id \"" + std::string(entry_id) + "\" is not <ms>-<n>");
  auto ms = parse_unsigned<std::uint64_t>(entry_id.substr(0, dash));
  auto n = parse_unsigned<std::uint64_t>(entry_id.substr(dash + 1));
  if (!ms || !n) return malformed("id \"" + std::string(entry_id) + "\" is not <ms>-<n>");
  if (*ms > kMaxMillis || *n > kMaxSeqInMilli) return malformed("id \"" + std::string(entry_id) + "\" is out of range");
  return (*ms << kSeqBits) | *n;
}

std::string entry_id_from_seq(std::uint64_t seq) {
  return std::to_string(seq >> kSeqBits) + "-" + std::to_string(seq & kMaxSeqInMilli);
}

std::string_view raw_entry_id(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 1) return {};
  return text_of(*reply.element[0]);
}

Result<RedisEntry> parse_entry(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2) return malformed("not [id, fields]");
  const redisReply& id = *reply.element[0];
  const redisReply& fields = *reply.element[1];
  if (id.type != REDIS_REPLY_STRING && id.type != REDIS_REPLY_STATUS) return malformed("its id is not a string");
  if (fields.type != REDIS_REPLY_ARRAY || fields.elements % 2 != 0) return malformed("its fields are not pairs");
  RedisEntry e;
  e.entry_id = text_of(id);
  auto seq = seq_from_entry_id(e.entry_id);
  if (!seq) return seq.error();
  e.seq = *seq;
  bool has_id = false;
  bool has_record = false;
  for (std::size_t k = 0; k + 1 < fields.elements; k += 2) {
    const redisReply& name = *fields.element[k];
    const redisReply& value = *fields.element[k + 1];
    if (value.type != REDIS_REPLY_STRING) return malformed("field values must be strings");
    const std::string_view n = text_of(name);
    const std::string_view v = text_of(value);
    if (n == "i") {
      e.id = v;
      has_id = true;
    } else if (n == "r") {
      e.record = v;
      has_record = true;
    } else if (n == "o") {
      e.origin = v;
    } else if (n == "s") {
      e.subscription = v;
    }
  }
  if (!has_id || !has_record) return malformed(std::string(e.entry_id) + " has no update id or no record");
  return e;
}

Result<std::shared_ptr<Update>> update_from_entry(const RedisEntry& entry) {
  TopicViews topics;
  auto view = decode_event_record(entry.record, topics);
  if (!view) return malformed(std::string(entry.entry_id) + ": " + view.error().reason);
  auto update = std::make_shared<Update>();
  update->id = std::string(view->id);
  update->topics.assign(topics.begin(), topics.end());
  update->is_private = view->is_private;
  update->frame = std::string(view->frame);
  update->seq = entry.seq;
  if (!entry.subscription.empty()) {
    auto s = decode_subscription(entry.subscription);
    if (!s) return malformed(std::string(entry.entry_id) + ": " + s.error().reason);
    update->subscription = std::make_shared<const Subscription>(std::move(*s));
  }
  return update;
}

std::string encode_subscription(const Subscription& s) {
  std::string out;
  out += s.active ? '1' : '0';
  out += s.payload_json ? 'p' : '-';
  put_field(out, s.topic);
  put_field(out, s.subscriber);
  put_field(out, s.payload_json ? std::string_view(*s.payload_json) : std::string_view{});
  return out;
}

std::vector<Subscription> active_subscriptions(const redisReply& encoded) {
  std::vector<Subscription> out;
  if (encoded.type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < encoded.elements; ++i) {
    auto s = decode_subscription(reply_text(*encoded.element[i]));
    if (s && s->active) out.push_back(std::move(*s));
  }
  return out;
}

Result<Subscription> decode_subscription(std::string_view in) {
  const auto bad = [] { return Error{Errc::internal, "malformed subscription"}; };
  if (in.size() < 2 || (in[0] != '0' && in[0] != '1') || (in[1] != 'p' && in[1] != '-')) return bad();
  Subscription s;
  s.active = in[0] == '1';
  const bool has_payload = in[1] == 'p';
  in.remove_prefix(2);
  std::string_view topic;
  std::string_view subscriber;
  std::string_view payload;
  if (!take_field(in, topic) || !take_field(in, subscriber) || !take_field(in, payload) || !in.empty()) return bad();
  s.topic = std::string(topic);
  s.subscriber = std::string(subscriber);
  if (has_payload) s.payload_json = std::string(payload);
  return s;
}

}  // namespace mercure
