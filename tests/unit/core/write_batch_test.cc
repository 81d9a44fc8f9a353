#include "core/write_batch.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sy::core {
namespace {

// Records what reaches the transport, and in how many write calls.
class RecordingTransport final : public Transport {
 public:
  void setCallbacks(TransportCallbacks*) override {}
  int startReading() override { return 0; }
  void stopReading() override {}
  bool isReading() const override { return true; }
  void write(const uv_buf_t* buffers, size_t count) override {
    ++writes;
    for (size_t i = 0; i < count; ++i) data.append(buffers[i].base, buffers[i].len);
  }
  using Transport::write;
  size_t pendingWriteBytes() const override { return 0; }
  void shutdownWrite() override {}
  void close() override {}
  void abort() override {}
  bool isClosing() const override { return false; }

  std::string data;
  int writes = 0;
};

TEST(WriteBatchTest, OneWritePerFlushInOrder) {
  WriteBatch batch;
  RecordingTransport t;
  const std::string body = "body";
  batch.addCopy(&t, "head;", 5);
  batch.add(&t, body.data(), body.size());
  batch.addCopy(&t, ";tail", 5);
  EXPECT_EQ(batch.pendingFor(&t), 14u);
  EXPECT_EQ(t.writes, 0);
  batch.flush();
  EXPECT_EQ(t.writes, 1);
  EXPECT_EQ(t.data, "head;body;tail");
}

TEST(WriteBatchTest, CopiesSurviveAFreshBatch) {
  // The first addCopy after a flush must not be overwritten by the next one (regression: the
  // scratch area was rewound under a live reference and chunk headers came out corrupted).
  WriteBatch batch;
  RecordingTransport t;
  for (int round = 0; round < 3; ++round) {
    std::string expected;
    for (int i = 0; i < 5; ++i) {
      const std::string header = std::to_string(1000 + i) + "\r\n";
      batch.addCopy(&t, header.data(), header.size());
      batch.add(&t, "x", 1);
      expected += header + "x";
    }
    t.data.clear();
    batch.flush();
    EXPECT_EQ(t.data, expected) << "round " << round;
  }
}

TEST(WriteBatchTest, SwitchingTransportsFlushesTheFirst) {
  WriteBatch batch;
  RecordingTransport a, b;
  batch.addCopy(&a, "A1", 2);
  batch.addCopy(&b, "B1", 2);
  EXPECT_EQ(a.data, "A1");
  batch.addCopy(&a, "A2", 2);
  EXPECT_EQ(b.data, "B1");
  batch.flush();
  EXPECT_EQ(a.data, "A1A2");
}

TEST(WriteBatchTest, ManyPiecesAndLargeCopies) {
  WriteBatch batch;
  RecordingTransport t;
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string piece = "piece" + std::to_string(i) + ";";
    batch.addCopy(&t, piece.data(), piece.size());
    expected += piece;
  }
  const std::string large(5000, 'L');  // beyond the scratch area: written through at once
  batch.addCopy(&t, large.data(), large.size());
  expected += large;
  batch.flush();
  EXPECT_EQ(t.data, expected);
  EXPECT_GT(t.writes, 1);
}

TEST(WriteBatchTest, ForgetDropsPendingBytes) {
  WriteBatch batch;
  RecordingTransport t;
  batch.addCopy(&t, "gone", 4);
  batch.forget(&t);
  batch.flush();
  EXPECT_EQ(t.data, "");
}

}  // namespace
}  // namespace sy::core
