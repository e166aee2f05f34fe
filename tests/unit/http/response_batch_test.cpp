#include "http/response_batch.hpp"

#include <gtest/gtest.h>

#include "socket_pair.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

namespace mercure {
namespace {

namespace asio = boost::asio;

using Pair = test::SocketPair;

// A response: a head and a body, as the connection loop sends them.
struct Wire {
  std::string head;
  std::string body;
  std::array<asio::const_buffer, 2> buffers;
  Wire(std::string h, std::string b) : head(std::move(h)), body(std::move(b)) {
    buffers = {asio::buffer(head), asio::buffer(body)};
  }
};

bool ring_available() {
  std::string why;
  return SendRing::open(2, why) != nullptr;
}

TEST(ResponseBatch, ResponsesStagedInOneTurnAreSentTogetherAndEachCompletesWithItsBytes) {
  asio::io_context io(1);
  ResponseBatch batch(io, true, 0);
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<std::unique_ptr<Wire>> wires;
  std::vector<int> results(4, -1000);
  for (int i = 0; i < 4; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    wires.push_back(std::make_unique<Wire>("HTTP/1.1 200 OK\r\n\r\n", "urn:uuid:" + std::to_string(i)));
  }
  // Four handlers of one turn each stage a response, as acknowledged publishes do.
  for (int i = 0; i < 4; ++i) {
    asio::post(io, [&, i] {
      batch.async_send(pairs[i]->ours, wires[i]->buffers, [&results, i](int r) { results[i] = r; });
      EXPECT_EQ(results[i], -1000);  // nothing is sent before the turn's handlers have run
    });
  }
  io.run();
  EXPECT_EQ(batch.staged(), 0u);
  for (int i = 0; i < 4; ++i) {
    const std::string expected = wires[i]->head + wires[i]->body;
    EXPECT_EQ(results[i], static_cast<int>(expected.size()));
    EXPECT_EQ(pairs[i]->read_all(), expected);
  }
  if (ring_available()) {
    EXPECT_EQ(batch.ring_submits(), 1u);  // one system call for the four
  }
}

TEST(ResponseBatch, WithoutTheRingEachResponseIsSentOnItsOwn) {
  asio::io_context io(1);
  ResponseBatch batch(io, false, 0);
  Pair a, b;
  Wire wa("head-a ", "body-a"), wb("head-b ", "");
  int ra = -1000, rb = -1000;
  asio::post(io, [&] { batch.async_send(a.ours, wa.buffers, [&](int r) { ra = r; }); });
  asio::post(io, [&] { batch.async_send(b.ours, wb.buffers, [&](int r) { rb = r; }); });
  io.run();
  EXPECT_EQ(ra, 13);
  EXPECT_EQ(rb, 7);
  EXPECT_EQ(a.read_all(), "head-a body-a");
  EXPECT_EQ(b.read_all(), "head-b ");
  EXPECT_EQ(batch.ring_submits(), 0u);
}

TEST(ResponseBatch, AFullSocketCompletesWithEagainAndTheOthersAreStillSent) {
  asio::io_context io(1);
  ResponseBatch batch(io, true, 0);
  Pair full, fine;
  ASSERT_TRUE(full.fill());
  Wire wf("blocked", ""), wo("through", "!");
  int rf = 0, ro = 0;
  asio::post(io, [&] {
    batch.async_send(full.ours, wf.buffers, [&](int r) { rf = r; });
    batch.async_send(fine.ours, wo.buffers, [&](int r) { ro = r; });
  });
  io.run();
  EXPECT_EQ(rf, -EAGAIN);  // the caller writes it the asynchronous way
  EXPECT_EQ(ro, 8);
  EXPECT_EQ(fine.read_all(), "through!");
}

TEST(ResponseBatch, AResponseStagedByACompletionGoesInTheNextBatchInOrder) {
  // A pipelined client: its next response is made as soon as the first one is sent.
  asio::io_context io(1);
  ResponseBatch batch(io, true, 0);
  Pair p;
  Wire first("first ", ""), second("second", "");
  std::vector<int> results;
  asio::post(io, [&] {
    batch.async_send(p.ours, first.buffers, [&](int r) {
      results.push_back(r);
      EXPECT_EQ(batch.staged(), 0u);
      batch.async_send(p.ours, second.buffers, [&](int r2) { results.push_back(r2); });
      EXPECT_EQ(batch.staged(), 1u);  // not sent from inside the completion
    });
  });
  io.run();
  EXPECT_EQ(results, (std::vector<int>{6, 6}));
  EXPECT_EQ(p.read_all(), "first second");
}

TEST(ResponseBatch, SendStagedSendsAtOnceAndTheConnectionsGoOnWhenTheFlushRuns) {
  // What the shard does before a fan-out: the acknowledgements reach the wire first.
  asio::io_context io(1);
  ResponseBatch batch(io, true, 0);
  Pair a, b;
  Wire wa("ack-a", ""), wb("ack-b", "");
  int ra = -1000, rb = -1000;
  std::string on_wire_before_completion;
  asio::post(io, [&] {
    batch.async_send(a.ours, wa.buffers, [&](int r) { ra = r; });
    batch.async_send(b.ours, wb.buffers, [&](int r) { rb = r; });
    batch.send_staged();
    EXPECT_EQ(batch.staged(), 0u);
    on_wire_before_completion = a.read_all() + b.read_all();
    EXPECT_EQ(ra, -1000);  // resumed by the flush, not from inside the fan-out
    batch.send_staged();   // nothing left: no second send
  });
  io.run();
  EXPECT_EQ(on_wire_before_completion, "ack-aack-b");
  EXPECT_EQ(ra, 5);
  EXPECT_EQ(rb, 5);
  EXPECT_EQ(a.read_all() + b.read_all(), "");
}

TEST(ResponseBatch, ResponsesLeftWhenTheLoopStopsAreDroppedUnsentWithTheirHandlers) {
  asio::io_context io(1);
  Pair p;
  Wire w("never", "");
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  bool called = false;
  {
    ResponseBatch batch(io, true, 0);
    asio::post(io, [&, alive = std::move(alive)]() mutable {
      batch.async_send(p.ours, w.buffers, [&called, held = std::move(alive)](int) { called = true; });
      io.stop();  // the flush posted behind this handler never runs
    });
    io.run();
    EXPECT_EQ(batch.staged(), 1u);
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());  // the handler was destroyed with the batch, not called
  EXPECT_FALSE(called);
  EXPECT_EQ(p.read_all(), "");
}

}  // namespace
}  // namespace mercure
