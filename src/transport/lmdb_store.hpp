#pragma once
// The LMDB history store: one directory (`data.mdb`, `lock.mdb`, `hub.lock`) with four tables:
//   events  big-endian u64 seq -> event record (transport/event_record.hpp)
//   ids     id bytes -> big-endian u64 seq; an id longer than 480 bytes, or starting with '#'
//           (the hub never accepts one), is keyed by "#" + hex SHA-256 of the id
//   topics  big-endian u64 seq / 1024 + big-endian u64 hash of a topic -> the big-endian u64
//           seqs of that block's events carrying it (DUPSORT, DUPFIXED; lmdb_detail::topic_key),
//           written and trimmed with the events
//   meta    "format" -> format version string, "last_seq" -> big-endian u64, "topics_from" ->
//           big-endian u64, the first seq `topics` covers (a store written by a build without
//           the index gets it from its next event on; such a build refuses a store with it)
// Seqs are strictly increasing and never reused: meta's last_seq survives restarts and the
// trimming of every event.
//
// Start-up (the constructor) throws StoreError, whose message names the path and the cause; it
// never starts empty over existing data: a path that is not a directory, a permission problem,
// a store locked by another hub (flock on hub.lock, taken before LMDB opens the environment:
// LMDB must not be opened twice in one process either), or a directory that is not a valid store
// (not an LMDB file, corrupt, another version, unknown format, events without meta, tables that
// are not ours).
//
// Thread-safety: find(), scan(), last_id(), count(), last_seq() may be called from any thread,
// concurrently with write_batch(); each read runs in its own short read transaction (one
// consistent snapshot). write_batch() and sync() are serialized internally (the transport calls
// them from its one writer thread). A scan visitor must not call back into the store.

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/update.hpp"
#include "transport/lmdb_options.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct MDB_env;  // lmdb.h: typedef struct MDB_env MDB_env

namespace mercure {

// A history store that cannot be opened (start-up only).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LmdbStore final : public History {
 public:
  struct BatchOutcome {
    // One per update, in order. ok: stored, `seq` assigned. Errc::conflict: the id is already
    // stored (or earlier in the same batch); Errc::bad_request: an empty id. Rejected updates
    // keep seq 0.
    std::vector<Result<void>> results;
    std::size_t accepted = 0;
    std::size_t trimmed = 0;   // old events deleted by this commit
    unsigned map_growths = 0;  // times the map was doubled to fit this batch
  };

  // Opens (or creates) the store at options.path. Throws StoreError.
  explicit LmdbStore(const LmdbOptions& options);
  ~LmdbStore() override;
  LmdbStore(const LmdbStore&) = delete;
  LmdbStore& operator=(const LmdbStore&) = delete;

  // History. O(log n) through `ids`; nullopt when unknown or trimmed.
  [[nodiscard]] Result<std::optional<std::uint64_t>> find(std::string_view id) override;
  [[nodiscard]] Result<ScanResult> scan(std::uint64_t after, std::size_t max_events, const Visitor& visit) override;
  // Through the `topics` index (one entry per topic of each event, trimmed with it): a lookup
  // per topic and block of 1,024 seqs, plus the events carrying them. nullopt when `after` is
  // before the index's start.
  [[nodiscard]] std::optional<Result<ScanResult>> scan_topics(std::uint64_t after,
                                                              std::span<const std::string_view> topics,
                                                              std::size_t max_events, const Visitor& visit) override;

  // Writes `updates` in ONE transaction: assigns each accepted update's seq, rejects duplicate
  // ids one by one (the rest goes on), trims the oldest events beyond `size` (at most
  // accepted + 1024 per commit), commits (durable unless sync=false). The map is doubled and the
  // batch retried when it is full. Any other failure rejects the whole batch with
  // Errc::unavailable ("history store write failed: ..."), every seq left at 0.
  [[nodiscard]] Result<BatchOutcome> write_batch(std::span<Update* const> updates);

  // Flushes committed transactions to disk (useful with sync=false).
  [[nodiscard]] Result<void> sync();

  // After a failed commit: tells whether the store can take writes again. The data file must
  // be able to grow by kProbeBytes (written at its end, then truncated back: a full disk or a
  // file-size limit fails here even when a small commit would fit in free pages), and a small
  // real commit (last_seq rewritten) must succeed. Errc::unavailable with the cause otherwise.
  static constexpr std::size_t kProbeBytes = std::size_t{1} << 20;
  [[nodiscard]] Result<void> probe_write();

  [[nodiscard]] std::uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  // Number of stored events (as of the last commit).
  [[nodiscard]] std::uint64_t count() const { return count_.load(std::memory_order_acquire); }
  // Id of the newest stored event; nullopt when the store is empty.
  [[nodiscard]] Result<std::optional<std::string>> last_id() override;
  // Current map size in bytes.
  [[nodiscard]] std::size_t map_size() const;
  // Bytes of the map in use (pages up to the last one written), as of the last commit. Safe
  // from any thread, also while the map grows (it waits for the resize).
  [[nodiscard]] std::uint64_t used_bytes() const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  struct EnvClose {
    void operator()(MDB_env* env) const;
  };
  class LockFile {
   public:
    LockFile() = default;
    ~LockFile();
    LockFile(const LockFile&) = delete;
    LockFile& operator=(const LockFile&) = delete;
    int fd = -1;
  };

  void open_env(const LmdbOptions& options);
  void load_or_init();
  int write_attempt(std::span<Update* const> updates, BatchOutcome& out, std::uint64_t& new_last,
                    std::uint64_t& new_count);
  Result<void> grow_map();
  std::shared_lock<std::shared_mutex> read_lock() const;

  std::string path_;
  std::uint64_t size_;
  bool trim_ = true;
  bool sync_ = true;

  LockFile lock_file_;  // declared before env_: released after the environment is closed
  std::unique_ptr<MDB_env, EnvClose> env_;
  struct MapFull {};  // load_or_init() found no room: the constructor grows the map, tries again
  unsigned events_ = 0, ids_ = 0, meta_ = 0, topics_ = 0;  // MDB_dbi
  std::uint64_t topics_from_ = 1;                          // the first seq the topics index covers (set at open)
  bool index_warned_ = false;                              // the writer logged an index entry it could not append

  // Read transactions hold env_lock_ shared; growing the map holds it exclusively (LMDB requires
  // no transaction in the process). While a resize waits, new readers queue on resize_gate_ so
  // a steady stream of readers cannot starve it.
  mutable std::shared_mutex env_lock_;
  mutable std::mutex resize_gate_;
  std::atomic<bool> resizing_{false};

  std::mutex write_mutex_;
  std::atomic<std::uint64_t> last_seq_{0};
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace mercure
