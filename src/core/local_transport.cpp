#include "core/local_transport.hpp"

namespace mercure {

void LocalTransport::add_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void LocalTransport::publish(NewUpdatePtr update, Done done) {
  if (closed_.load()) {
    done(Error{Errc::unavailable, "hub is shutting down"});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    update->seq = ++last_seq_;
    const UpdatePtr shared = std::move(update);
    for (const auto& l : listeners_) l(shared);
    if (metrics_ != nullptr) metrics_->updates_committed(1);
  }
  done(Result<void>{});
}

}  // namespace mercure
