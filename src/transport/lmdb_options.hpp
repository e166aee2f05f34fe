#pragma once
// Options of the LMDB transport and the parsing of its URL.
//
// Accepted URLs (the config file form `transport lmdb { path P; size N }` reaches here as
// `lmdb://P?size=N`, built by src/app):
//   lmdb:///abs/dir        absolute path
//   lmdb://relative/dir    relative path: host + path, as Go's url parsing of `bolt://updates.db`
//   lmdb://  or  lmdb:     the default path (mercure.lmdb)
//   bolt://P...            the reference hub's transport, served by LMDB at `P.lmdb` (unless P already
//                          ends in `.lmdb`; `bolt://` alone means P = bolt.db, the reference's default),
//                          with a warning in `warnings`: the Bolt file's history is not imported
// The path is percent-decoded. Query parameters (percent-decoded, '+' is a space, each at most
// once, never empty):
//   size=N                 events kept (0 = unbounded)
//   cleanup_frequency=F    0 <= F <= 1; 0 disables trimming, any other value trims on every commit
//   map_size=BYTES         initial map size, >= 1 MiB; doubled whenever the map is full
//   sync=0|1|true|false    false: MDB_NOSYNC (see below)
//   max_batch=N            1..1000000 updates per transaction
//   bucket_name=...        accepted and ignored (compatibility with the reference hub)
// Anything else (unknown parameter, bad value, fragment, `lmdb:path` without `//`) is
// Errc::bad_request with one line naming the culprit.
// Pure function; safe to call from any thread.

#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

struct LmdbOptions {
  // The store's directory (created with its parents if missing); holds data.mdb, lock.mdb, hub.lock.
  std::string path = "mercure.lmdb";
  // Maximum number of events kept; 0 = unbounded.
  std::uint64_t size = 1'000'000;
  // Accepted for compatibility with the reference hub: 0 disables trimming, any other value trims on
  // every commit, at most (accepted updates + 1024) events per commit.
  double cleanup_frequency = 0.3;
  // Initial map size in bytes; doubled on MDB_MAP_FULL.
  std::size_t map_size = std::size_t{64} << 20;
  // false: MDB_NOSYNC. A commit is written to the OS but not fsynced: a process crash loses nothing,
  // a power failure or OS crash may lose acknowledged updates (the writer syncs at most once a second).
  bool sync = true;
  // Updates per transaction (group commit); 1 = one fsync per update, the baseline of benchmarks.
  std::size_t max_batch = 4096;
  // Things the operator should know (e.g. bolt:// served by LMDB); to be logged by the caller.
  std::vector<std::string> warnings;
};

[[nodiscard]] Result<LmdbOptions> parse_lmdb_url(std::string_view url);

}  // namespace mercure
