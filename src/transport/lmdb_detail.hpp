#pragma once
// Small helpers shared by the LmdbStore implementation files (lmdb_store.cpp,
// lmdb_store_write.cpp): RAII for LMDB transactions and cursors, big-endian seq keys, the `ids`
// key of an event id, the error of a failed read. Internal to src/transport.

#include "core/error.hpp"

#include <lmdb.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercure::lmdb_detail {

inline constexpr std::string_view kFormat = "mercure-hub/lmdb/1";
inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kLastSeqKey = "last_seq";
// The first seq the `topics` index covers (stores written before it existed start it later).
inline constexpr std::string_view kTopicsFromKey = "topics_from";
// The layout of the `topics` index (below); a table of another layout is dropped at open.
inline constexpr std::string_view kTopicsFormatKey = "topics_format";
inline constexpr std::string_view kTopicsFormat = "seq-block-1024+topic-hash/1";
inline constexpr std::size_t kMaxPlainIdKey = 480;

// A read the store could not make (the 503 of a history read).
inline Error read_failed(int rc) {
  return Error{Errc::unavailable, std::string("history store read failed: ") + mdb_strerror(rc)};
}

struct TxnAbort {
  void operator()(MDB_txn* txn) const { mdb_txn_abort(txn); }
};
using TxnPtr = std::unique_ptr<MDB_txn, TxnAbort>;

// A write transaction's cursors must be closed before the transaction ends: declare the
// CursorPtr after the TxnPtr (or reset it before committing).
struct CursorClose {
  void operator()(MDB_cursor* cursor) const { mdb_cursor_close(cursor); }
};
using CursorPtr = std::unique_ptr<MDB_cursor, CursorClose>;

inline std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}
inline MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

// A seq as an `events` key (big-endian, so that LMDB's byte order is seq order).
using Be64 = std::array<char, 8>;
inline Be64 be64(std::uint64_t v) {
  Be64 out;
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
  return out;
}
inline MDB_val as_val(Be64& b) {
  return MDB_val{b.size(), b.data()};
}
inline std::optional<std::uint64_t> read_be64(const MDB_val& v) {
  if (v.mv_size != 8) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  std::uint64_t out = 0;
  for (int i = 0; i < 8; ++i) out = (out << 8) | p[i];
  return out;
}

// The `topics` index: its key is the event's block of 1,024 seqs then a stable 64-bit hash of
// a topic (both big-endian), its values (MDB_DUPSORT | MDB_DUPFIXED) the big-endian seqs of the
// block's events carrying the topic, appended in seq order (MDB_APPENDDUP). Block first, so the
// entries a commit writes sit at the end of the table (a few pages, as `events`), not spread
// over a page per topic. Distinct topics may share a hash: readers check the event's topics.
inline constexpr unsigned kTopicBlockBits = 10;
using TopicKey = std::array<char, 16>;
inline TopicKey topic_key(std::uint64_t seq, std::uint64_t hash) {
  TopicKey out;
  const Be64 b = be64(seq >> kTopicBlockBits), h = be64(hash);
  std::copy(b.begin(), b.end(), out.begin());
  std::copy(h.begin(), h.end(), out.begin() + 8);
  return out;
}
inline MDB_val as_val(TopicKey& k) {
  return MDB_val{k.size(), k.data()};
}
inline std::uint64_t topic_hash(std::string_view topic) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then MurmurHash3's finalizer
  for (const unsigned char c : topic) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// The `ids` key of an id: the id itself, or "#" + hex SHA-256 of the id when it is longer than
// 480 bytes (LMDB keys are at most 511) or starts with '#' (the hub rejects such ids; hashing
// them too keeps the mapping one-to-one). The result may point into `buf`.
using IdKeyBuffer = std::array<char, 65>;
std::string_view id_key(std::string_view id, IdKeyBuffer& buf);

}  // namespace mercure::lmdb_detail
