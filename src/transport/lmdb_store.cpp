#include "transport/lmdb_store.hpp"

#include "transport/event_record.hpp"
#include "transport/lmdb_detail.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

// Start-up and the read side of LmdbStore; the write side is in lmdb_store_write.cpp.

namespace mercure {

using namespace lmdb_detail;

namespace {

bool is_invalid_store(int rc) {
  return rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH || rc == MDB_PANIC ||
         rc == MDB_INCOMPATIBLE || rc == MDB_PAGE_NOTFOUND || rc == MDB_BAD_TXN;
}

}  // namespace

void LmdbStore::EnvClose::operator()(MDB_env* env) const {
  mdb_env_close(env);
}

LmdbStore::LockFile::~LockFile() {
  if (fd >= 0) ::close(fd);  // releases the flock
}

LmdbStore::LmdbStore(const LmdbOptions& options)
    : path_(options.path), size_(options.size), trim_(options.cleanup_frequency != 0), sync_(options.sync) {
  namespace fs = std::filesystem;
  if (path_.empty()) throw StoreError("the history store path is empty");
  std::error_code ec;
  const fs::file_status st = fs::status(path_, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw StoreError(path_ + ": cannot access the history store: " + ec.message());
  }
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      throw StoreError(path_ + ": not a directory (the LMDB history store is a directory holding data.mdb)");
    }
  } else if (!fs::create_directories(path_, ec) && ec) {
    throw StoreError(path_ + ": cannot create the history store directory: " + ec.message());
  }

  const std::string lock_path = (fs::path(path_) / "hub.lock").string();
  // One hub per store, and LMDB opened once per process: taken before mdb_env_open.
  lock_file_.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_file_.fd < 0) {
    const int err = errno;
    throw StoreError(path_ + ": cannot open " + lock_path + ": " + std::strerror(err));
  }
  if (::flock(lock_file_.fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) throw StoreError(path_ + ": the history store is in use by another process");
    throw StoreError(path_ + ": cannot lock " + lock_path + ": " + std::strerror(err));
  }
  open_env(options);
  // The first open by a build with a new table writes (the `topics` index): a map set smaller
  // than the file has no room for it until it grows, as write_batch() grows it.
  for (unsigned growths = 0;; ++growths) {
    try {
      load_or_init();
      break;
    } catch (const MapFull&) {
      if (growths == 8) throw StoreError(path_ + ": cannot open the history store: the map is full");
      if (auto grown = grow_map(); !grown) throw StoreError(path_ + ": " + grown.error().reason);
    }
  }
}

LmdbStore::~LmdbStore() {
  if (env_ && !sync_) mdb_env_sync(env_.get(), 1);
}

void LmdbStore::open_env(const LmdbOptions& options) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) throw StoreError(path_ + ": cannot create the LMDB environment: " + mdb_strerror(rc));
  env_.reset(env);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_maxreaders(env, 512);
  mdb_env_set_mapsize(env, options.map_size);
  const unsigned flags = MDB_NOTLS | (options.sync ? 0U : static_cast<unsigned>(MDB_NOSYNC));
  rc = mdb_env_open(env, path_.c_str(), flags, 0644);
  if (rc == 0) {
    int dead = 0;
    mdb_reader_check(env, &dead);  // reader slots left by a crashed process would pin old pages
    return;
  }
  env_.reset();  // mdb_env_close is required after a failed open
  if (is_invalid_store(rc)) {
    throw StoreError(path_ + ": not a valid mercure-hub history store (" + mdb_strerror(rc) + ")");
  }
  if (rc == EACCES || rc == EPERM || rc == EROFS) {
    throw StoreError(path_ + ": cannot open the history store: permission denied (" + mdb_strerror(rc) + ")");
  }
  throw StoreError(path_ + ": cannot open the history store: " + mdb_strerror(rc));
}

// Checks that the environment is ours (or empty) and loads last_seq and count; creates the
// tables and meta in an empty environment.
void LmdbStore::load_or_init() {
  auto invalid = [&](const std::string& reason) {
    return StoreError(path_ + ": not a valid mercure-hub history store (" + reason + ")");
  };
  auto check = [&](int rc, const char* what) {
    if (rc == 0) return;
    if (rc == MDB_MAP_FULL) throw MapFull{};
    if (is_invalid_store(rc)) throw invalid(std::string(what) + ": " + mdb_strerror(rc));
    throw StoreError(path_ + ": cannot read the history store (" + what + "): " + mdb_strerror(rc));
  };

  MDB_txn* raw = nullptr;
  check(mdb_txn_begin(env_.get(), nullptr, 0, &raw), "begin");
  TxnPtr txn(raw);

  bool has_meta = false;
  bool has_topics = false;
  {
    MDB_dbi main = 0;
    check(mdb_dbi_open(txn.get(), nullptr, 0, &main), "main table");
    MDB_cursor* c = nullptr;
    check(mdb_cursor_open(txn.get(), main, &c), "main table");
    CursorPtr cursor(c);
    MDB_val k, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      const std::string_view name = as_view(k);
      if (name == "meta") {
        has_meta = true;
      } else if (name == "topics") {
        has_topics = true;
      } else if (name != "events" && name != "ids") {
        throw invalid("unexpected table \"" + std::string(name.substr(0, 64)) + "\"");
      }
    }
    if (rc != MDB_NOTFOUND) check(rc, "main table");
  }

  check(mdb_dbi_open(txn.get(), "events", MDB_CREATE, &events_), "events table");
  check(mdb_dbi_open(txn.get(), "ids", MDB_CREATE, &ids_), "ids table");
  check(mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &meta_), "meta table");
  if (has_topics) {  // a `topics` table of another layout (or none named) is dropped, rebuilt below
    MDB_val fk = as_val(kTopicsFormatKey), fv;
    const int frc = mdb_get(txn.get(), meta_, &fk, &fv);
    if (frc != 0 && frc != MDB_NOTFOUND) check(frc, "meta table");
    if (frc == MDB_NOTFOUND || as_view(fv) != kTopicsFormat) {
      MDB_dbi old = 0;
      check(mdb_dbi_open(txn.get(), "topics", 0, &old), "topics table");
      check(mdb_drop(txn.get(), old, 1), "topics table");
      has_topics = false;
    }
  }
  check(mdb_dbi_open(txn.get(), "topics", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &topics_), "topics table");

  MDB_stat events_stat{}, ids_stat{};
  check(mdb_stat(txn.get(), events_, &events_stat), "events table");
  check(mdb_stat(txn.get(), ids_, &ids_stat), "ids table");

  std::uint64_t last_seq = 0;
  MDB_val k = as_val(kFormatKey), v;
  if (!has_meta) {
    if (events_stat.ms_entries != 0 || ids_stat.ms_entries != 0) throw invalid("events present but meta missing");
    MDB_val fv = as_val(kFormat);
    check(mdb_put(txn.get(), meta_, &k, &fv, 0), "meta table");
    Be64 zero = be64(0);
    MDB_val lk = as_val(kLastSeqKey), lv = as_val(zero);
    check(mdb_put(txn.get(), meta_, &lk, &lv, 0), "meta table");
  } else {
    int rc = mdb_get(txn.get(), meta_, &k, &v);
    if (rc == MDB_NOTFOUND) throw invalid("meta has no format");
    check(rc, "meta table");
    if (as_view(v) != kFormat) throw invalid("unknown format \"" + std::string(as_view(v).substr(0, 64)) + "\"");
    MDB_val lk = as_val(kLastSeqKey);
    rc = mdb_get(txn.get(), meta_, &lk, &v);
    if (rc == MDB_NOTFOUND) throw invalid("meta has no last_seq");
    check(rc, "meta table");
    auto seq = read_be64(v);
    if (!seq) throw invalid("meta last_seq is not 8 bytes");
    last_seq = *seq;
  }

  // The newest event must be readable and not beyond last_seq (seqs are never reused).
  MDB_cursor* c = nullptr;
  check(mdb_cursor_open(txn.get(), events_, &c), "events table");
  CursorPtr cursor(c);
  MDB_val ek, ev;
  const int rc = mdb_cursor_get(c, &ek, &ev, MDB_LAST);
  if (rc == 0) {
    auto seq = read_be64(ek);
    if (!seq) throw invalid("an events key is not 8 bytes");
    if (*seq > last_seq) throw invalid("the newest event is beyond meta last_seq");
    TopicViews topics;
    auto record = decode_event_record(as_view(ev), topics);
    if (!record) throw invalid("the newest event is unreadable: " + record.error().reason);
  } else if (rc != MDB_NOTFOUND) {
    check(rc, "events table");
  }
  cursor.reset();

  // The topic index covers the events from topics_from on: all of them in a store created with
  // it, those written from now on in a store written before it existed (emptied then, in case).
  std::uint64_t topics_from = last_seq + 1;
  MDB_val tk = as_val(kTopicsFromKey), tv;
  int trc = has_topics ? mdb_get(txn.get(), meta_, &tk, &tv) : MDB_NOTFOUND;
  if (trc == 0) {
    auto from = read_be64(tv);
    if (!from) throw invalid("meta topics_from is not 8 bytes");
    topics_from = *from;
  } else if (trc == MDB_NOTFOUND) {
    check(mdb_drop(txn.get(), topics_, 0), "topics table");
    Be64 from = be64(topics_from);
    tv = as_val(from);
    check(mdb_put(txn.get(), meta_, &tk, &tv, 0), "meta table");
    MDB_val fk = as_val(kTopicsFormatKey), fv = as_val(kTopicsFormat);
    check(mdb_put(txn.get(), meta_, &fk, &fv, 0), "meta table");
  } else {
    check(trc, "meta table");
  }
  check(mdb_txn_commit(txn.release()), "commit");
  topics_from_ = topics_from;
  last_seq_.store(last_seq);
  count_.store(events_stat.ms_entries);
}

std::shared_lock<std::shared_mutex> LmdbStore::read_lock() const {
  if (resizing_.load(std::memory_order_acquire)) {
    std::lock_guard gate(resize_gate_);  // wait for the resize to finish
  }
  return std::shared_lock(env_lock_);
}

Result<std::optional<std::uint64_t>> LmdbStore::find(std::string_view id) {
  if (id.empty()) return std::optional<std::uint64_t>();
  IdKeyBuffer buf;
  MDB_val k = as_val(id_key(id, buf)), v;
  const auto lock = read_lock();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &raw);
  if (rc != 0) return read_failed(rc);
  TxnPtr txn(raw);
  rc = mdb_get(txn.get(), ids_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::uint64_t>();
  if (rc != 0) return read_failed(rc);
  const auto seq = read_be64(v);
  if (!seq) return Error{Errc::internal, "history store: an ids entry is not 8 bytes"};
  Be64 key = be64(*seq);
  MDB_val ek = as_val(key), ev;
  rc = mdb_get(txn.get(), events_, &ek, &ev);
  if (rc == MDB_NOTFOUND) return std::optional<std::uint64_t>();
  if (rc != 0) return read_failed(rc);
  TopicViews topics;
  auto record = decode_event_record(as_view(ev), topics);
  if (!record || record->id != id) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*seq);
}

Result<History::ScanResult> LmdbStore::scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) {
  ScanResult result{after, false};
  if (after == std::numeric_limits<std::uint64_t>::max()) {
    result.at_end = true;
    return result;
  }
  const auto lock = read_lock();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &raw);
  if (rc != 0) return read_failed(rc);
  TxnPtr txn(raw);
  MDB_cursor* c = nullptr;
  rc = mdb_cursor_open(txn.get(), events_, &c);
  if (rc != 0) return read_failed(rc);
  CursorPtr cursor(c);

  Be64 start = be64(after + 1);
  MDB_val k = as_val(start), v;
  TopicViews topics;
  std::size_t visited = 0;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (visited == max_events) return result;  // more follow: at_end stays false
    const auto seq = read_be64(k);
    if (!seq) return Error{Errc::internal, "history store: an events key is not 8 bytes"};
    // Seqs are dense and trimming takes the oldest: a first event past after + 1 is the oldest.
    if (visited == 0 && *seq > after + 1) result.trimmed_below = *seq;
    auto record = decode_event_record(as_view(v), topics);
    if (!record) {
      return Error{Errc::internal, "history store: event " + std::to_string(*seq) + ": " + record.error().reason};
    }
    ++visited;
    result.last_seq = *seq;
    const bool go_on =
        visit(HistoryEvent{*seq, record->id, std::span<const std::string_view>(topics.data(), topics.size()),
                           record->is_private, record->frame});
    if (!go_on) {
      rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
      break;
    }
  }
  if (rc == MDB_NOTFOUND) {
    result.at_end = true;
  } else if (rc != 0) {
    return read_failed(rc);
  }
  return result;
}

Result<std::optional<std::string>> LmdbStore::last_id() {
  const auto lock = read_lock();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &raw);
  if (rc != 0) return read_failed(rc);
  TxnPtr txn(raw);
  MDB_cursor* c = nullptr;
  rc = mdb_cursor_open(txn.get(), events_, &c);
  if (rc != 0) return read_failed(rc);
  CursorPtr cursor(c);
  MDB_val k, v;
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return read_failed(rc);
  TopicViews topics;
  auto record = decode_event_record(as_view(v), topics);
  if (!record) return record.error();
  return std::optional<std::string>(std::string(record->id));
}

std::size_t LmdbStore::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize;
}

std::uint64_t LmdbStore::used_bytes() const {
  const auto lock = read_lock();  // the metas live in the map, which a resize remaps
  MDB_envinfo info{};
  MDB_stat stat{};
  if (mdb_env_info(env_.get(), &info) != 0 || mdb_env_stat(env_.get(), &stat) != 0) return 0;
  return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

}  // namespace mercure
