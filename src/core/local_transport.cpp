#include "core/local_transport.hpp"

namespace mercure {

void LocalTransport::add_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void LocalTransport::publish(UpdatePtr update, Done done) {
  if (closed_.load()) {
    done(Error{Errc::unavailable, "hub is shutting down"});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    for (const auto& l : listeners_) l(update);
  }
  done(Result<void>{});
}

}  // namespace mercure
