#include "transport/event_record.hpp"
#include "transport/lmdb_detail.hpp"
#include "transport/lmdb_store.hpp"

#include <lmdb.h>

#include <algorithm>
#include <limits>
#include <vector>

// The read side of LmdbStore's `topics` index: a resume of a subscriber to exact topics visits
// the events carrying them, not every event stored since its Last-Event-ID.

namespace mercure {

using namespace lmdb_detail;

namespace {

Error read_failed(int rc) {
  return Error{Errc::unavailable, std::string("history store read failed: ") + mdb_strerror(rc)};
}

// One topic's entries from a seq on: a cursor in `topics`, positioned on its next entry.
struct TopicRun {
  std::uint64_t hash = 0;
  CursorPtr cursor;
  std::uint64_t next_seq = 0;  // seq of the current entry; 0 when the run is over
};

// Moves `run` to its entry at or after (hash, from) when `op` is MDB_SET_RANGE, or to its next
// entry (MDB_NEXT); ends the run past its hash. Returns an LMDB error code (0 also at the end).
int advance(TopicRun& run, std::uint64_t from, MDB_cursor_op op) {
  TopicKey start = topic_key(run.hash, from);
  MDB_val k = as_val(start), v;
  const int rc = mdb_cursor_get(run.cursor.get(), &k, &v, op);
  run.next_seq = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return rc;
  if (k.mv_size != 16) return MDB_CORRUPTED;
  const auto* p = static_cast<const char*>(k.mv_data);
  const auto hash = read_be64(MDB_val{8, const_cast<char*>(p)});
  const auto seq = read_be64(MDB_val{8, const_cast<char*>(p + 8)});
  if (hash == run.hash && seq) run.next_seq = *seq;
  return 0;
}

}  // namespace

std::optional<Result<History::ScanResult>> LmdbStore::scan_topics(std::uint64_t after,
                                                                  std::span<const std::string_view> topics,
                                                                  std::size_t max_events, const Visitor& visit) {
  using Out = std::optional<Result<ScanResult>>;
  if (topics.empty() || after == std::numeric_limits<std::uint64_t>::max() || after + 1 < topics_from_) {
    return std::nullopt;
  }
  ScanResult result{after, false};
  const auto lock = read_lock();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &raw);
  if (rc != 0) return Out(read_failed(rc));
  TxnPtr txn(raw);

  std::vector<std::uint64_t> hashes;
  hashes.reserve(topics.size());
  for (const auto topic : topics) hashes.push_back(topic_hash(topic));
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  std::vector<TopicRun> runs(hashes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    MDB_cursor* c = nullptr;
    rc = mdb_cursor_open(txn.get(), topics_, &c);
    if (rc != 0) return Out(read_failed(rc));
    runs[i].hash = hashes[i];
    runs[i].cursor.reset(c);
    rc = advance(runs[i], after + 1, MDB_SET_RANGE);
    if (rc != 0) return Out(read_failed(rc));
  }

  // The events are read through one cursor: MDB_SET looks at the cursor's current page first,
  // so the events of a topic published often (neighbours in `events`) cost no tree descent.
  MDB_cursor* ec = nullptr;
  rc = mdb_cursor_open(txn.get(), events_, &ec);
  if (rc != 0) return Out(read_failed(rc));
  CursorPtr events_cursor(ec);
  std::uint64_t at_seq = 0;  // the event `ec` is on; 0 when unpositioned
  TopicViews event_topics;
  std::size_t visited = 0;
  for (;;) {
    // The smallest next seq of all runs (a handful: a linear pass).
    std::uint64_t seq = 0;
    for (const auto& run : runs) {
      if (run.next_seq != 0 && (seq == 0 || run.next_seq < seq)) seq = run.next_seq;
    }
    if (seq == 0) break;
    if (visited == max_events) return Out(result);  // more follow: at_end stays false
    for (auto& run : runs) {                        // every run on that event moves past it
      if (run.next_seq != seq) continue;
      rc = advance(run, 0, MDB_NEXT);
      if (rc != 0) return Out(read_failed(rc));
    }
    MDB_val ek, ev;
    rc = MDB_NOTFOUND;
    if (at_seq != 0 && seq == at_seq + 1) {  // the next event: no search at all
      rc = mdb_cursor_get(ec, &ek, &ev, MDB_NEXT);
      if (rc == 0 && read_be64(ek) != seq) rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND) {
      Be64 key = be64(seq);
      ek = as_val(key);
      rc = mdb_cursor_get(ec, &ek, &ev, MDB_SET);
    }
    at_seq = rc == 0 ? seq : 0;
    if (rc == MDB_NOTFOUND) continue;  // an entry whose event was trimmed unreadable
    if (rc != 0) return Out(read_failed(rc));
    auto record = decode_event_record(as_view(ev), event_topics);
    if (!record) {
      return Out(Error{Errc::internal, "history store: event " + std::to_string(seq) + ": " + record.error().reason});
    }
    ++visited;
    result.last_seq = seq;
    const bool go_on =
        visit(HistoryEvent{seq, record->id, std::span<const std::string_view>(event_topics.data(), event_topics.size()),
                           record->is_private, record->frame});
    if (!go_on) return Out(result);  // at_end false: the runs may hold more
  }

  // Every run is over: every stored event up to the newest was considered.
  MDB_val k, v;
  rc = mdb_cursor_get(ec, &k, &v, MDB_LAST);
  if (rc == 0) {
    const auto newest = read_be64(k);
    if (!newest) return Out(Error{Errc::internal, "history store: an events key is not 8 bytes"});
    result.last_seq = std::max(result.last_seq, *newest);
  } else if (rc != MDB_NOTFOUND) {
    return Out(read_failed(rc));
  }
  result.at_end = true;
  return Out(result);
}

}  // namespace mercure
