#include "membership/sync_round.h"

#include <gtest/gtest.h>

namespace tern::membership {
namespace {

TEST(ElectEntryTest, MajorityWins) {
  Elected e = ElectEntry({{1, 10, 4}, {2, 20, 4}, {3, 20, 4}});
  EXPECT_EQ(e.hash, 20u);
}

TEST(ElectEntryTest, TieGoesToTheLowestPeerId) {
  EXPECT_EQ(ElectEntry({{5, 10, 4}, {2, 20, 4}}).hash, 20u);
  EXPECT_EQ(ElectEntry({{1, 10, 4}, {2, 20, 4}, {3, 30, 4}, {4, 30, 4}, {0, 10, 4}}).hash, 10u);
}

TEST(ElectEntryTest, SizeIsPartOfTheContent) {
  EXPECT_EQ(ElectEntry({{1, 10, 4}, {2, 10, 8}, {3, 10, 8}}).nbytes, 8u);
}

TEST(ElectEntryTest, NonVotersOnlyVoteWhenNobodyElseDoes) {
  // Two joiners (non-voters) with zeros cannot outvote one synced peer.
  EXPECT_EQ(ElectEntry({{1, 7, 4, true}, {2, 0, 4, false}, {3, 0, 4, false}}).hash, 7u);
  EXPECT_EQ(ElectEntry({{1, 7, 4, false}, {2, 0, 4, false}, {3, 0, 4, false}}).hash, 0u);
}

TEST(ValidateEntriesTest, RejectsBadNamesOrderAndKinds) {
  google::protobuf::RepeatedPtrField<proto::StateEntry> e;
  e.Add()->set_name("b");
  e.Add()->set_name("a");
  EXPECT_EQ(ValidateEntries(e).code(), StatusCode::kInvalidArgument);
  e.Clear();
  e.Add()->set_name("");
  EXPECT_EQ(ValidateEntries(e).code(), StatusCode::kInvalidArgument);
  e.Clear();
  proto::StateEntry* u = e.Add();
  u->set_name("step");
  u->set_kind(2);
  u->set_nbytes(4);
  EXPECT_EQ(ValidateEntries(e).code(), StatusCode::kInvalidArgument);
  u->set_nbytes(8);
  EXPECT_TRUE(ValidateEntries(e).ok());
}

}  // namespace
}  // namespace tern::membership
