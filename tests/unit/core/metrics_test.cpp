#include "core/metrics.hpp"

#include "core/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mercure {
namespace {

TEST(Metrics, EveryReasonHasADistinctSnakeCaseName) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < kRejectReasons; ++i) names.emplace(reject_reason_name(static_cast<RejectReason>(i)));
  for (std::size_t i = 0; i < kDisconnectReasons; ++i) {
    names.emplace(disconnect_reason_name(static_cast<DisconnectReason>(i)));
  }
  // "internal" and "client_gone" are not shared between the two sets.
  EXPECT_EQ(names.size(), kRejectReasons + kDisconnectReasons);
  for (const auto& n : names) {
    EXPECT_FALSE(n.empty());
    EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << n;
  }
  EXPECT_EQ(delivery_source_name(DeliverySource::live), "live");
  EXPECT_EQ(delivery_source_name(DeliverySource::history), "history");
}

TEST(Metrics, DisconnectReasonsUseTheDocumentedLabels) {
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::client_gone), "client_gone");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::slow), "slow");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::write_timeout), "write_timeout");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::token_expired), "token_expired");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::lifetime), "lifetime");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::shutdown), "shutdown");
  EXPECT_EQ(disconnect_reason_name(DisconnectReason::history_failed), "history_failed");
}

TEST(Metrics, EachRejectReasonHasTheStatusOfItsError) {
  EXPECT_EQ(reject_reason_status(RejectReason::missing_token), 401);
  EXPECT_EQ(reject_reason_status(RejectReason::invalid_token), 401);
  EXPECT_EQ(reject_reason_status(RejectReason::origin_not_allowed), 401);
  EXPECT_EQ(reject_reason_status(RejectReason::forbidden_topic), 403);
  EXPECT_EQ(reject_reason_status(RejectReason::bad_form), 400);
  EXPECT_EQ(reject_reason_status(RejectReason::bad_request), 400);
  EXPECT_EQ(reject_reason_status(RejectReason::not_found), 404);
  EXPECT_EQ(reject_reason_status(RejectReason::method_not_allowed), 405);
  EXPECT_EQ(reject_reason_status(RejectReason::conflict), 409);
  EXPECT_EQ(reject_reason_status(RejectReason::payload_too_large), 413);
  EXPECT_EQ(reject_reason_status(RejectReason::too_many_requests), 429);
  EXPECT_EQ(reject_reason_status(RejectReason::too_many_connections), 429);
  EXPECT_EQ(reject_reason_status(RejectReason::too_many_streams), 429);
  EXPECT_EQ(reject_reason_status(RejectReason::request_timeout), 408);
  EXPECT_EQ(reject_reason_status(RejectReason::headers_too_large), 431);
  EXPECT_EQ(reject_reason_status(RejectReason::unavailable), 503);
  EXPECT_EQ(reject_reason_status(RejectReason::internal), 500);
}

TEST(Metrics, ClassifiesAnErrorByItsCodeAndForTokensByItsCheck) {
  EXPECT_EQ(reject_reason_of(Error{Errc::unauthorized, "x", kJwtCheckMissing}), RejectReason::missing_token);
  EXPECT_EQ(reject_reason_of(Error{Errc::unauthorized, "x", kJwtCheckOrigin}), RejectReason::origin_not_allowed);
  EXPECT_EQ(reject_reason_of(Error{Errc::unauthorized, "x", kJwtCheckSignature}), RejectReason::invalid_token);
  EXPECT_EQ(reject_reason_of(Error{Errc::unauthorized, "x"}), RejectReason::invalid_token);
  EXPECT_EQ(reject_reason_of(Error{Errc::forbidden, "x"}), RejectReason::forbidden_topic);
  EXPECT_EQ(reject_reason_of(Error{Errc::header_too_large, "x"}), RejectReason::headers_too_large);
  EXPECT_EQ(reject_reason_of(Error{Errc::conflict, "x"}), RejectReason::conflict);
  EXPECT_EQ(reject_reason_of(Error{Errc::expectation_failed, "x"}), RejectReason::expectation_failed);
  EXPECT_EQ(reject_reason_status(RejectReason::expectation_failed), 417);
  EXPECT_EQ(reject_reason_of(Error{Errc::request_timeout, "x"}), RejectReason::request_timeout);
  EXPECT_EQ(reject_reason_of(Error{Errc::too_many_requests, "x"}), RejectReason::too_many_requests);
  // Every code maps to a reason of the same status.
  for (Errc c : {Errc::bad_request, Errc::unauthorized, Errc::forbidden, Errc::not_found, Errc::method_not_allowed,
                 Errc::conflict, Errc::expectation_failed, Errc::payload_too_large, Errc::header_too_large,
                 Errc::too_many_requests, Errc::unavailable, Errc::internal}) {
    EXPECT_EQ(reject_reason_status(reject_reason_of(Error{c, "x"})), http_status(c)) << errc_name(c);
  }
}

}  // namespace
}  // namespace mercure
