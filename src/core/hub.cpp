#include "core/hub.hpp"

#include "core/sse_frame.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace mercure {

namespace {
constexpr std::string_view kReservedPath = "/.well-known/mercure";

bool path_is_reserved(std::string_view path) {
  if (!path.starts_with(kReservedPath)) return false;
  if (path.size() == kReservedPath.size()) return true;
  char next = path[kReservedPath.size()];
  return next == '/' || next == '?' || next == '#';
}
}  // namespace

bool is_reserved_topic(std::string_view topic) {
  if (path_is_reserved(topic)) return true;
  // scheme://authority/path form
  auto scheme_end = topic.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto path_start = topic.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return false;
  return path_is_reserved(topic.substr(path_start));
}

Hub::Hub(Transport& transport, SelectorCache& selectors, UuidGenerator& uuids)
    : transport_(transport), selectors_(selectors), uuids_(uuids), subscription_events_(transport, uuids) {
  transport_.set_writable_handler([this] { subscription_events_.retry(); });
}

std::vector<SelectorPtr> Hub::compile(const std::vector<std::string>& selectors) {
  std::vector<SelectorPtr> out;
  out.reserve(selectors.size());
  for (const auto& s : selectors) out.push_back(selectors_.get(s));
  return out;
}

Result<std::string> Hub::publish(PublishForm form, const Claims& claims, Transport::Done done) {
  if (!claims.publish) return Error{Errc::forbidden, "token has no mercure.publish claim"};
  // "*" grants every topic: the usual claim needs no compiled selector (nor the cache's lock).
  const auto& claim = *claims.publish;
  const bool grants_all = std::find(claim.begin(), claim.end(), "*") != claim.end();
  const auto granted = grants_all ? std::vector<SelectorPtr>{} : compile(claim);
  for (const auto& topic : form.topics) {
    if (is_reserved_topic(topic)) return Error{Errc::forbidden, "topic \"" + topic + "\" is reserved by the hub"};
    bool allowed = grants_all;
    for (const auto& g : granted) {
      if (g->matches(topic)) {
        allowed = true;
        break;
      }
    }
    if (!allowed) return Error{Errc::forbidden, "topic \"" + topic + "\" is not granted by mercure.publish"};
  }

  auto update = std::make_shared<Update>();
  update->id = form.id ? std::move(*form.id) : uuids_.next();
  update->topics = std::move(form.topics);
  if (form.data) update->data = std::move(*form.data);
  if (form.type) update->type = std::move(*form.type);
  // Validated digits-only by the form parser. 0 writes no retry line, as the reference hub does
  // (browsers would otherwise reconnect at once, in a loop while the hub is down).
  if (form.retry) {
    if (const auto retry = std::stoull(*form.retry); retry != 0) update->retry = retry;
  }
  update->is_private = form.is_private;
  update->frame = make_sse_frame(*update);

  std::string id = update->id;
  transport_.publish(std::move(update), std::move(done));
  return id;
}

std::string Hub::new_subscriber_id() {
  return uuids_.next();
}

}  // namespace mercure
