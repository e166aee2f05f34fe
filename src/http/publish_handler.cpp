#include "http/publish_handler.hpp"

#include "core/authorizer.hpp"
#include "core/hub.hpp"
#include "core/jwt_verifier.hpp"
#include "core/metrics.hpp"
#include "core/publish_form.hpp"
#include "core/topic_limits.hpp"
#include "http/request_auth.hpp"
#include "http/shard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <optional>

namespace mercure {

namespace asio = boost::asio;

namespace {

// Publishes through the hub and resumes the coroutine on the shard's thread, whatever thread
// the transport acknowledges on.
asio::awaitable<Result<std::string>> async_publish(Shard* shard, PublishForm form, Claims claims) {
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<std::string>)>(
      [shard, executor, &form, &claims](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        shard->hub().publish(std::move(form), claims, [shared, executor](Result<std::string> r) {
          asio::post(executor, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable);
}

bool is_form_content_type(std::string_view ct) {
  if (ct.empty()) return true;  // curl -d without a type still sends one; be lenient when absent
  auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/x-www-form-urlencoded";
}

}  // namespace

asio::awaitable<Response> handle_publish(Shard* shard, const Request* req, const Target* target, std::string remote) {
  const auto& opts = shard->options();
  // Logs (naming the failed check of a token), counts and answers a refusal.
  auto reject = [&](const Error& e, std::optional<RejectReason> why = std::nullopt) {
    if (e.check.empty()) {
      spdlog::info("publish rejected: {} {} (from {})", http_status(e.code), e.reason, remote);
    } else {
      spdlog::info("publish rejected: {} {} (check={}, from {})", http_status(e.code), e.reason, e.check, remote);
    }
    shard->metrics().request_rejected(shard->id(), why.value_or(reject_reason_of(e)));
    auto res = make_error_response(*req, e);
    add_cors_headers(*req, opts.cors_origins, res);
    return res;
  };

  auto found = find_token((*req)[http::field::authorization], target->first("authorization"),
                          (*req)[http::field::cookie], opts.cookie_name);
  if (!found) co_return reject(found.error());
  if (found->source == TokenSource::none) {
    co_return reject(Error{Errc::unauthorized, "missing publisher token", kJwtCheckMissing});
  }
  if (found->source == TokenSource::cookie) {
    auto csrf = check_publish_origin((*req)[http::field::origin], (*req)[http::field::referer], opts.publish_origins);
    if (!csrf) co_return reject(csrf.error());
  }
  auto claims = shard->authorizer().verify_publisher(found->token, shard->publisher_tokens());
  if (!claims) {
    co_return reject(
        Error{Errc::unauthorized, "invalid publisher token: " + claims.error().reason, claims.error().check});
  }

  if (!is_form_content_type((*req)[http::field::content_type])) {
    co_return reject(Error{Errc::bad_request, "Content-Type must be application/x-www-form-urlencoded"},
                     RejectReason::bad_form);
  }
  auto form = parse_publish_form(req->body());
  if (!form) co_return reject(form.error(), RejectReason::bad_form);
  if (auto ok = check_publish_topics(form->topics, opts.topic_limits); !ok) {
    const Error& e = ok.error();
    co_return reject(e, e.code == Errc::bad_request ? std::optional(RejectReason::bad_form) : std::nullopt);
  }

  auto published = co_await async_publish(shard, std::move(*form), std::move(*claims));
  if (!published) co_return reject(published.error());

  auto res = make_text_response(*req, http::status::ok, std::move(*published));
  add_cors_headers(*req, opts.cors_origins, res);
  co_return res;
}

}  // namespace mercure
