#include "train/worker_events.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tern::train {
namespace {

TEST(WorkerEventsTest, JsonRoundTrip) {
  WorkerEvent e;
  e.event = "done";
  e.slot = 3;
  e.peer_id = 17;
  e.step = 1000;
  e.bytes_sent = uint64_t{1} << 40;
  e.state_hash = 0xfedcba9876543210ULL;
  e.message = "diloco:h=50,codec=int8";
  Result<WorkerEvent> back = EventFromJson(EventToJson(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->event, "done");
  EXPECT_EQ(back->slot, 3);
  EXPECT_EQ(back->peer_id, 17u);
  EXPECT_EQ(back->bytes_sent, e.bytes_sent);
  EXPECT_EQ(back->state_hash, e.state_hash);
  EXPECT_EQ(back->message, e.message);
}

TEST(WorkerEventsTest, NonFiniteLossTravelsAsNaN) {
  WorkerEvent e;
  e.event = "step";
  e.loss = std::numeric_limits<double>::infinity();
  const std::string json = EventToJson(e);
  EXPECT_NE(json.find("\"loss\":null"), std::string::npos) << json;
  Result<WorkerEvent> back = EventFromJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->loss));
}

TEST(WorkerEventsTest, GarbageIsDataLoss) {
  EXPECT_EQ(EventFromJson("W 1.0 master: hello").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(EventFromJson("{\"slot\": 1}").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(EventFromJson("{\"event\": \"step\", \"slot\": \"x\"}").status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tern::train
