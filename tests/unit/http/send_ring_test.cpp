#include "http/send_ring.hpp"

#include <gtest/gtest.h>

#include "socket_pair.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

namespace mercure {
namespace {

using Pair = test::SocketPair;

struct Message {
  std::vector<iovec> iov;
  msghdr msg{};
  explicit Message(std::vector<std::string>& parts) {
    for (auto& p : parts) iov.push_back(iovec{p.data(), p.size()});
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
  }
};

std::unique_ptr<SendRing> open_ring(unsigned entries) {
  std::string why;
  auto ring = SendRing::open(entries, why);
  if (ring == nullptr) {
    EXPECT_FALSE(why.empty());  // a refusal says why
  }
  return ring;
}

std::map<std::uint64_t, int> by_tag(std::span<const SendRing::Result> results) {
  std::map<std::uint64_t, int> out;
  for (const auto& r : results) out[r.tag] = r.res;
  return out;
}

TEST(SendRing, SendsToEverySocketOfTheBatchInOneSubmit) {
  auto ring = open_ring(16);
  if (ring == nullptr) GTEST_SKIP() << "io_uring not available here";
  std::vector<Pair> pairs(10);
  std::vector<std::vector<std::string>> parts;
  for (int i = 0; i < 10; ++i) parts.push_back({"a\r\n", "data: " + std::to_string(i) + "\n\n", "\r\n"});
  std::vector<Message> messages;
  messages.reserve(10);
  for (int i = 0; i < 10; ++i) {
    messages.emplace_back(parts[static_cast<std::size_t>(i)]);
    ring->queue(pairs[static_cast<std::size_t>(i)].ours, messages.back().msg, 100 + static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(ring->queued(), 10u);
  const auto results = by_tag(ring->submit());
  ASSERT_EQ(results.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const std::string expected = "a\r\ndata: " + std::to_string(i) + "\n\n\r\n";
    EXPECT_EQ(results.at(100 + static_cast<std::uint64_t>(i)), static_cast<int>(expected.size()));
    EXPECT_EQ(pairs[static_cast<std::size_t>(i)].read_all(), expected);
  }
  EXPECT_EQ(ring->queued(), 0u);
  EXPECT_FALSE(ring->broken());
  // The ring is reused for the next batch.
  std::vector<std::string> again{"second"};
  Message m(again);
  ring->queue(pairs[0].ours, m.msg, 7);
  const auto second = by_tag(ring->submit());
  EXPECT_EQ(second.at(7), 6);
  EXPECT_EQ(pairs[0].read_all(), "second");
}

TEST(SendRing, AFullSocketGetsEagainAtOnceAndTheOthersAreStillSent) {
  auto ring = open_ring(4);
  if (ring == nullptr) GTEST_SKIP() << "io_uring not available here";
  Pair full, fine;
  ASSERT_TRUE(full.fill());
  std::vector<std::string> a{"blocked"}, b{"through"};
  Message ma(a), mb(b);
  ring->queue(full.ours, ma.msg, 1);
  ring->queue(fine.ours, mb.msg, 2);
  const auto results = by_tag(ring->submit());  // returns: a full socket is not waited on
  EXPECT_EQ(results.at(1), -EAGAIN);
  EXPECT_EQ(results.at(2), 7);
  EXPECT_EQ(fine.read_all(), "through");
}

TEST(SendRing, APartialSendReportsTheBytesTaken) {
  auto ring = open_ring(2);
  if (ring == nullptr) GTEST_SKIP() << "io_uring not available here";
  Pair p;
  const int small = 4096;
  ::setsockopt(p.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::vector<std::string> parts{std::string(64 * 1024, 'y'), "tail"};
  Message m(parts);
  ring->queue(p.ours, m.msg, 9);
  const auto results = by_tag(ring->submit());
  ASSERT_EQ(results.count(9), 1u);
  EXPECT_GT(results.at(9), 0);
  EXPECT_LT(results.at(9), 64 * 1024 + 4);
  EXPECT_EQ(static_cast<int>(p.read_all().size()), results.at(9));
}

TEST(SendRing, AClosedPeerIsAnErrorNotASignal) {
  auto ring = open_ring(2);
  if (ring == nullptr) GTEST_SKIP() << "io_uring not available here";
  Pair p;
  ::close(p.peer);
  p.peer = -1;
  std::vector<std::string> parts{"nobody"};
  Message m(parts);
  ring->queue(p.ours, m.msg, 3);
  const auto results = by_tag(ring->submit());  // MSG_NOSIGNAL: no SIGPIPE kills the test
  EXPECT_EQ(results.at(3), -EPIPE);
}

TEST(SendRing, AnEmptySubmitDoesNothing) {
  auto ring = open_ring(2);
  if (ring == nullptr) GTEST_SKIP() << "io_uring not available here";
  EXPECT_TRUE(ring->submit().empty());
  EXPECT_FALSE(ring->broken());
}

}  // namespace
}  // namespace mercure
