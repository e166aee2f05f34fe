#include "transport/lmdb_store.hpp"

#include "transport/event_record.hpp"
#include "transport/lmdb_detail.hpp"

#include <lmdb.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

// The write side of LmdbStore: one transaction per batch, trimming, map growth.

namespace mercure {

using namespace lmdb_detail;

namespace {

constexpr std::uint64_t kTrimSlack = 1024;
constexpr unsigned kMaxGrowthsPerBatch = 32;

}  // namespace

Result<void> LmdbStore::sync() {
  std::lock_guard write(write_mutex_);
  const int rc = mdb_env_sync(env_.get(), 1);
  if (rc != 0) return Error{Errc::unavailable, std::string("history store sync failed: ") + mdb_strerror(rc)};
  return {};
}

Result<void> LmdbStore::probe_write() {
  std::lock_guard write(write_mutex_);
  auto failed = [](const std::string& what, int err) {
    return Error{Errc::unavailable, "history store write failed: " + what + ": " + std::strerror(err)};
  };
  // 1. Room to grow: write zeros past the end of the data file, then cut them off again. LMDB
  // (without MDB_WRITEMAP) never reads past its last committed page, and this thread is the
  // only writer.
  int fd = -1;
  if (const int rc = mdb_env_get_fd(env_.get(), &fd); rc != 0) return failed("probe", rc);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return failed("probe: fstat", errno);
  const std::vector<char> zeros(kProbeBytes, 0);
  std::size_t written = 0;
  int write_error = 0;
  while (written < zeros.size()) {
    const ssize_t n = ::pwrite(fd, zeros.data() + written, zeros.size() - written, st.st_size + off_t(written));
    if (n > 0) {
      written += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      write_error = n < 0 ? errno : EIO;
      break;
    }
  }
  if (::ftruncate(fd, st.st_size) != 0 && write_error == 0) write_error = errno;
  if (write_error != 0) return failed("cannot grow the data file", write_error);

  // 2. A real commit.
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, 0, &raw);
  if (rc == 0) {
    TxnPtr txn(raw);
    Be64 last = be64(last_seq_.load(std::memory_order_relaxed));
    MDB_val lk = as_val(kLastSeqKey), lv = as_val(last);
    rc = mdb_put(txn.get(), meta_, &lk, &lv, 0);
    if (rc == 0) rc = mdb_txn_commit(txn.release());
  }
  if (rc != 0) return Error{Errc::unavailable, std::string("history store write failed: ") + mdb_strerror(rc)};
  return {};
}

Result<LmdbStore::BatchOutcome> LmdbStore::write_batch(std::span<Update* const> updates) {
  std::lock_guard write(write_mutex_);
  BatchOutcome out;
  for (;;) {
    std::uint64_t new_last = 0, new_count = 0;
    const int rc = write_attempt(updates, out, new_last, new_count);
    if (rc == 0) {
      last_seq_.store(new_last, std::memory_order_release);
      count_.store(new_count, std::memory_order_release);
      return out;
    }
    for (Update* u : updates) u->seq = 0;
    if (rc == MDB_MAP_FULL && out.map_growths < kMaxGrowthsPerBatch) {
      auto grown = grow_map();
      if (!grown) return grown.error();
      ++out.map_growths;
      continue;
    }
    spdlog::error("history store {}: write failed: {}", path_, mdb_strerror(rc));
    return Error{Errc::unavailable, std::string("history store write failed: ") + mdb_strerror(rc)};
  }
}

// One try at writing the batch; returns an LMDB error code (the transaction is then aborted).
int LmdbStore::write_attempt(std::span<Update* const> updates, BatchOutcome& out, std::uint64_t& new_last,
                             std::uint64_t& new_count) {
  out.results.assign(updates.size(), Result<void>{});
  out.accepted = 0;
  out.trimmed = 0;
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, 0, &raw);
  if (rc != 0) return rc;
  TxnPtr txn(raw);
  std::uint64_t seq = last_seq_.load(std::memory_order_relaxed);
  IdKeyBuffer buf;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    Update& u = *updates[i];
    u.seq = 0;
    if (u.id.empty()) {
      out.results[i] = Error{Errc::bad_request, "an event id must not be empty"};
      continue;
    }
    Be64 key = be64(seq + 1);
    MDB_val ik = as_val(id_key(u.id, buf)), iv = as_val(key);
    rc = mdb_put(txn.get(), ids_, &ik, &iv, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      out.results[i] = Error{Errc::conflict, "an event with id \"" + u.id + "\" is already stored"};
      continue;
    }
    if (rc != 0) return rc;
    const std::size_t size = event_record_size(u);
    MDB_val ek = as_val(key), ev{size, nullptr};
    rc = mdb_put(txn.get(), events_, &ek, &ev, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) return rc;
    write_event_record(u, std::span<char>(static_cast<char*>(ev.mv_data), size));
    for (std::size_t t = 0; t < u.topics.size(); ++t) {
      // Seqs only grow: appended to the topic's list (a hash twice in one update: KEYEXIST).
      const std::uint64_t hash = topic_hash(u.topics[t]);
      TopicKey tk = topic_key(seq + 1, hash);
      MDB_val hk = as_val(tk), sv = as_val(key);
      rc = mdb_put(txn.get(), topics_, &hk, &sv, MDB_APPENDDUP);
      if (rc == MDB_KEYEXIST && !index_warned_) {
        const bool repeated = std::any_of(u.topics.begin(), u.topics.begin() + static_cast<std::ptrdiff_t>(t),
                                          [&](const std::string& other) { return topic_hash(other) == hash; });
        if (!repeated) {  // a seq below the block's last: an index written by something else
          index_warned_ = true;
          spdlog::warn("history store {}: the topics index holds seqs beyond {}; resumes through it may miss events",
                       path_, seq + 1);
        }
      }
      if (rc != 0 && rc != MDB_KEYEXIST) return rc;
    }
    u.seq = ++seq;
    ++out.accepted;
  }

  MDB_stat st{};
  rc = mdb_stat(txn.get(), events_, &st);
  if (rc != 0) return rc;
  std::uint64_t count = st.ms_entries;
  if (trim_ && size_ > 0 && count > size_) {
    const std::uint64_t limit = std::min<std::uint64_t>(count - size_, out.accepted + kTrimSlack);
    MDB_cursor* c = nullptr;
    rc = mdb_cursor_open(txn.get(), events_, &c);
    if (rc != 0) return rc;
    CursorPtr cursor(c);
    TopicViews topics;
    std::string key_copy;
    std::vector<std::uint64_t> topic_hashes;
    for (std::uint64_t n = 0; n < limit; ++n) {
      MDB_val k, v;
      rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) return rc;
      const std::optional<std::uint64_t> old_seq = read_be64(k);
      auto record = decode_event_record(as_view(v), topics);
      if (record) {
        // Copied: the page behind `v` may move once the ids table is modified.
        topic_hashes.clear();
        for (const auto topic : topics) topic_hashes.push_back(topic_hash(topic));
        key_copy.assign(id_key(record->id, buf));
        MDB_val ik = as_val(key_copy), iv;
        rc = mdb_get(txn.get(), ids_, &ik, &iv);
        if (rc == 0 && read_be64(iv) == old_seq) rc = mdb_del(txn.get(), ids_, &ik, nullptr);
        if (rc != 0 && rc != MDB_NOTFOUND) return rc;
        for (const auto h : topic_hashes) {  // absent for events written before the index existed
          if (!old_seq) break;
          TopicKey tk = topic_key(*old_seq, h);
          Be64 seq_value = be64(*old_seq);
          MDB_val hk = as_val(tk), sv = as_val(seq_value);
          rc = mdb_del(txn.get(), topics_, &hk, &sv);
          if (rc != 0 && rc != MDB_NOTFOUND) return rc;
        }
      } else {
        spdlog::warn("history store {}: trimming an unreadable event: {}", path_, record.error().reason);
      }
      rc = mdb_cursor_del(c, 0);
      if (rc != 0) return rc;
      ++out.trimmed;
    }
    count -= out.trimmed;
  }

  if (out.accepted == 0 && out.trimmed == 0) {  // nothing changed: no commit, no fsync
    new_last = seq;
    new_count = count;
    return 0;
  }
  Be64 last = be64(seq);
  MDB_val lk = as_val(kLastSeqKey), lv = as_val(last);
  rc = mdb_put(txn.get(), meta_, &lk, &lv, 0);
  if (rc != 0) return rc;
  rc = mdb_txn_commit(txn.release());
  if (rc != 0) return rc;
  new_last = seq;
  new_count = count;
  return 0;
}

Result<void> LmdbStore::grow_map() {
  const std::size_t current = map_size();
  if (current > std::numeric_limits<std::size_t>::max() / 2) {
    return Error{Errc::unavailable, "history store write failed: the map cannot grow further"};
  }
  const std::size_t next = current * 2;
  int rc = 0;
  resizing_.store(true, std::memory_order_release);
  {
    std::lock_guard gate(resize_gate_);
    std::unique_lock exclusive(env_lock_);
    rc = mdb_env_set_mapsize(env_.get(), next);
  }
  resizing_.store(false, std::memory_order_release);
  if (rc != 0) {
    spdlog::error("history store {}: cannot grow the map to {} bytes: {}", path_, next, mdb_strerror(rc));
    return Error{Errc::unavailable,
                 std::string("history store write failed: cannot grow the map: ") + mdb_strerror(rc)};
  }
  spdlog::info("history store {}: map grown to {} MiB", path_, next >> 20);
  return {};
}

}  // namespace mercure
