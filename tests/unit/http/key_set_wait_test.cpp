#include "http/key_set_wait.hpp"

#include "core/jwt_verifier.hpp"
#include "core/key_set_verifier.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace mercure {
namespace {

using Clock = std::chrono::steady_clock;

const Error kUnknownKid{Errc::unauthorized, "no key with kid \"k2\" in the key set", kJwtCheckKid};

TEST(KeySetWait, AFetchThatEndedBetweenTheVerificationAndTheTicketIsNotWaitedForButTried) {
  KeySetSource source("https://idp.example/jwks");
  const auto before = fetches_ended_of(&source);  // read before the token is verified
  // The unknown kid asked for a fetch; a fast provider answered before the ticket was asked for.
  source.request_refresh();
  ASSERT_TRUE(source.wait_for_refresh_request(Clock::now()));
  source.fetch_started();
  source.fetch_ended(Clock::now() + std::chrono::seconds(30));
  ASSERT_FALSE(source.refresh_ticket()) << "no fetch under way or due any more";
  auto wait = key_set_wait(&source, kUnknownKid, before);
  ASSERT_TRUE(wait.has_value()) << "the fetch that ended may have brought the key";
  EXPECT_GT(source.fetches_ended(), wait->ticket) << "a wait already over: verified again at once";
  // Verified again after that fetch and still unknown: refused (no further fetch for 30 s).
  EXPECT_FALSE(key_set_wait(&source, kUnknownKid, fetches_ended_of(&source)).has_value());
  source.stop();
}

TEST(KeySetWait, OnlyAnUnknownKidOfAKeySetWaits) {
  KeySetSource source("https://idp.example/jwks");
  source.request_refresh();
  const Error expired{Errc::unauthorized, "token expired", kJwtCheckExp};
  EXPECT_FALSE(key_set_wait(&source, expired, 0).has_value());
  EXPECT_FALSE(key_set_wait(nullptr, kUnknownKid, 0).has_value());
  auto wait = key_set_wait(&source, kUnknownKid, 0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->ticket, 0U);
  EXPECT_EQ(fetches_ended_of(nullptr), 0U);
  source.stop();
}

}  // namespace
}  // namespace mercure
