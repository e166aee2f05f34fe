#pragma once
// An update as published: immutable once dispatched, shared read-only across shards
// (std::shared_ptr<const Update>), with its SSE frame serialized exactly once.

#include "core/subscription.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mercure {

struct Update {
  std::string id;                   // never empty once accepted by the hub
  std::vector<std::string> topics;  // topics[0] is canonical, the rest alternate; never empty
  std::string data;
  std::string type;                    // SSE `event:`; empty = none
  std::optional<std::uint64_t> retry;  // SSE `retry:`
  bool is_private = false;
  // Position in the transport's global order, assigned by the transport before broadcast:
  // strictly increasing, never reused (also across restarts for a durable store). 0 = unassigned.
  std::uint64_t seq = 0;

  // The exact bytes sent to subscribers (see core/sse_frame.hpp); built once by the hub
  // after the id is final, before the update is shared.
  std::string frame;

  // Set on the hub's own subscription events (active subscriptions): what the event says, so
  // the subscription registry need not parse the JSON-LD it carries in `data`.
  std::shared_ptr<const Subscription> subscription;
  // Set on a connect event: the tag of the subscriber it announces (Subscriber::announcement_tag),
  // which does not receive it, as on the reference hub. 0 on every other update.
  std::uint64_t announces = 0;
};

}  // namespace mercure
