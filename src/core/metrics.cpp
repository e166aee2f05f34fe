#include "core/metrics.hpp"

#include "core/jwt_verifier.hpp"

namespace mercure {

std::string_view disconnect_reason_name(DisconnectReason r) noexcept {
  switch (r) {
    case DisconnectReason::client_gone:
      return "client_gone";
    case DisconnectReason::slow:
      return "slow";
    case DisconnectReason::write_timeout:
      return "write_timeout";
    case DisconnectReason::token_expired:
      return "token_expired";
    case DisconnectReason::lifetime:
      return "lifetime";
    case DisconnectReason::shutdown:
      return "shutdown";
    case DisconnectReason::history_failed:
      return "history_failed";
  }
  return "client_gone";
}

std::string_view delivery_source_name(DeliverySource s) noexcept {
  return s == DeliverySource::history ? "history" : "live";
}

std::string_view reject_reason_name(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::missing_token:
      return "missing_token";
    case RejectReason::invalid_token:
      return "invalid_token";
    case RejectReason::origin_not_allowed:
      return "origin_not_allowed";
    case RejectReason::forbidden_topic:
      return "forbidden_topic";
    case RejectReason::bad_form:
      return "bad_form";
    case RejectReason::bad_request:
      return "bad_request";
    case RejectReason::not_found:
      return "not_found";
    case RejectReason::method_not_allowed:
      return "method_not_allowed";
    case RejectReason::request_timeout:
      return "request_timeout";
    case RejectReason::conflict:
      return "conflict";
    case RejectReason::expectation_failed:
      return "expectation_failed";
    case RejectReason::payload_too_large:
      return "payload_too_large";
    case RejectReason::too_many_requests:
      return "too_many_requests";
    case RejectReason::too_many_connections:
      return "too_many_connections";
    case RejectReason::too_many_streams:
      return "too_many_streams";
    case RejectReason::headers_too_large:
      return "headers_too_large";
    case RejectReason::unavailable:
      return "unavailable";
    case RejectReason::internal:
      return "internal";
  }
  return "internal";
}

int reject_reason_status(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::missing_token:
    case RejectReason::invalid_token:
    case RejectReason::origin_not_allowed:
      return http_status(Errc::unauthorized);
    case RejectReason::forbidden_topic:
      return http_status(Errc::forbidden);
    case RejectReason::bad_form:
    case RejectReason::bad_request:
      return http_status(Errc::bad_request);
    case RejectReason::not_found:
      return http_status(Errc::not_found);
    case RejectReason::method_not_allowed:
      return http_status(Errc::method_not_allowed);
    case RejectReason::conflict:
      return http_status(Errc::conflict);
    case RejectReason::expectation_failed:
      return http_status(Errc::expectation_failed);
    case RejectReason::payload_too_large:
      return http_status(Errc::payload_too_large);
    case RejectReason::too_many_requests:
    case RejectReason::too_many_connections:
    case RejectReason::too_many_streams:
      return http_status(Errc::too_many_requests);
    case RejectReason::request_timeout:
      return http_status(Errc::request_timeout);
    case RejectReason::headers_too_large:
      return http_status(Errc::header_too_large);
    case RejectReason::unavailable:
      return http_status(Errc::unavailable);
    case RejectReason::internal:
      return http_status(Errc::internal);
  }
  return 500;
}

RejectReason reject_reason_of(const Error& e) noexcept {
  switch (e.code) {
    case Errc::unauthorized:
      if (e.check == kJwtCheckMissing) return RejectReason::missing_token;
      if (e.check == kJwtCheckOrigin) return RejectReason::origin_not_allowed;
      return RejectReason::invalid_token;
    case Errc::forbidden:
      return RejectReason::forbidden_topic;
    case Errc::bad_request:
      return RejectReason::bad_request;
    case Errc::not_found:
      return RejectReason::not_found;
    case Errc::method_not_allowed:
      return RejectReason::method_not_allowed;
    case Errc::conflict:
      return RejectReason::conflict;
    case Errc::expectation_failed:
      return RejectReason::expectation_failed;
    case Errc::payload_too_large:
      return RejectReason::payload_too_large;
    case Errc::header_too_large:
      return RejectReason::headers_too_large;
    case Errc::too_many_requests:
      return RejectReason::too_many_requests;
    case Errc::request_timeout:
      return RejectReason::request_timeout;
    case Errc::unavailable:
      return RejectReason::unavailable;
    case Errc::internal:
      return RejectReason::internal;
  }
  return RejectReason::internal;
}

}  // namespace mercure
