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

// One topic's entries in one block: a cursor in `topics`, on one of the topic's seqs.
struct TopicRun {
  std::uint64_t hash = 0;
  CursorPtr cursor;
  std::uint64_t next_seq = 0;  // the seq the cursor is on; 0 when the run is over
};

// Puts `run` on its first seq >= `from` in from's block (MDB_GET_BOTH_RANGE), or on its next
// seq in the block (MDB_NEXT_DUP). Returns an LMDB error code (0 also when the run is over).
int advance(TopicRun& run, std::uint64_t from, MDB_cursor_op op) {
  TopicKey key = topic_key(from, run.hash);
  Be64 seq = be64(from);
  MDB_val k = as_val(key), v = as_val(seq);
  const int rc = mdb_cursor_get(run.cursor.get(), &k, &v, op);
  run.next_seq = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return rc;
  const auto found = read_be64(v);
  if (!found) return MDB_CORRUPTED;
  run.next_seq = *found;
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

  // The events are read through one cursor: MDB_SET looks at the cursor's current page first,
  // so the events of a topic published often (neighbours in `events`) cost no tree descent.
  MDB_cursor* ec = nullptr;
  rc = mdb_cursor_open(txn.get(), events_, &ec);
  if (rc != 0) return Out(read_failed(rc));
  CursorPtr events_cursor(ec);
  MDB_val ek, ev;
  rc = mdb_cursor_get(ec, &ek, &ev, MDB_LAST);
  if (rc != 0 && rc != MDB_NOTFOUND) return Out(read_failed(rc));
  std::uint64_t newest = 0;
  if (rc == 0) {
    const auto seq = read_be64(ek);
    if (!seq) return Out(Error{Errc::internal, "history store: an events key is not 8 bytes"});
    newest = *seq;
  }
  if (newest <= after) {
    result.at_end = true;
    return Out(result);
  }
  // Blocks below the oldest stored event are empty (trimmed): a resume from `earliest` on a
  // store trimmed for long starts at its first event, not at seq 1.
  rc = mdb_cursor_get(ec, &ek, &ev, MDB_FIRST);
  if (rc != 0) return Out(read_failed(rc));
  const auto oldest = read_be64(ek);
  if (!oldest) return Out(Error{Errc::internal, "history store: an events key is not 8 bytes"});
  const std::uint64_t start = std::max(after + 1, *oldest);
  if (*oldest > after + 1) result.trimmed_below = *oldest;

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
  }

  std::uint64_t at_seq = 0;  // the event `ec` is on; 0 when unpositioned
  TopicViews event_topics;
  std::size_t visited = 0;  // events visited and lookups made: what a call may spend
  for (std::uint64_t from = start; from <= newest;) {
    const std::uint64_t block_last = std::min(newest, from | ((std::uint64_t{1} << kTopicBlockBits) - 1));
    if (visited >= max_events) return Out(result);  // more follow: at_end stays false
    for (auto& run : runs) {
      rc = advance(run, from, MDB_GET_BOTH_RANGE);
      if (rc != 0) return Out(read_failed(rc));
      ++visited;
    }
    for (;;) {
      // The smallest next seq of the runs (a handful: a linear pass).
      std::uint64_t seq = 0;
      for (const auto& run : runs) {
        if (run.next_seq != 0 && (seq == 0 || run.next_seq < seq)) seq = run.next_seq;
      }
      if (seq == 0) break;
      // Spent, and something moved (the lookups alone never end a call: it always progresses).
      if (visited >= max_events && result.last_seq != after) return Out(result);
      for (auto& run : runs) {  // every run on that event moves past it
        if (run.next_seq != seq) continue;
        rc = advance(run, seq, MDB_NEXT_DUP);
        if (rc != 0) return Out(read_failed(rc));
      }
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
      const bool go_on = visit(HistoryEvent{seq, record->id,
                                            std::span<const std::string_view>(event_topics.data(), event_topics.size()),
                                            record->is_private, record->frame});
      if (!go_on) return Out(result);  // at_end false: the block may hold more
    }
    result.last_seq = block_last;  // every event of the block up to here was considered
    from = block_last + 1;
  }
  result.at_end = true;
  return Out(result);
}

}  // namespace mercure
