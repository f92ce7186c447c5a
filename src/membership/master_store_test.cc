#include "membership/master_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace tern::membership {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/tern-store-XXXXXX";
  return ::mkdtemp(tmpl);
}

proto::MasterState Sample() {
  proto::MasterState s;
  s.set_run_id(3);
  s.set_revision(17);
  s.set_committed(true);
  s.set_next_peer_id(40);
  proto::Member* m = s.add_members();
  m->set_peer_id(39);
  m->set_data_address("10.0.0.1:5000");
  return s;
}

TEST(MasterStoreTest, SaveThenLoadRoundTrips) {
  const std::string dir = TempDir();
  auto store = MasterStore::Open(dir);
  ASSERT_TRUE(store.ok());
  auto empty = store->Load();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  ASSERT_TRUE(store->Save(Sample()).ok());
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->revision(), 17u);
  EXPECT_EQ((*loaded)->members(0).data_address(), "10.0.0.1:5000");
  EXPECT_FALSE(std::filesystem::exists(store->path() + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(MasterStoreTest, CorruptFileIsDataLoss) {
  std::string bytes = EncodeMasterState(Sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x20;
    EXPECT_EQ(DecodeMasterState(bad).status().code(), StatusCode::kDataLoss) << "byte " << i;
  }
  EXPECT_EQ(DecodeMasterState(bytes.substr(0, bytes.size() - 1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeMasterState("").status().code(), StatusCode::kDataLoss);
  std::string huge = bytes;
  huge[4] = huge[5] = huge[6] = huge[7] = '\xff';  // 4 GiB length
  EXPECT_EQ(DecodeMasterState(huge).status().code(), StatusCode::kDataLoss);
}

TEST(MasterStoreTest, LoadRefusesACorruptFile) {
  const std::string dir = TempDir();
  auto store = MasterStore::Open(dir);
  ASSERT_TRUE(store.ok());
  std::ofstream(store->path()) << "garbage";
  EXPECT_EQ(store->Load().status().code(), StatusCode::kDataLoss);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern::membership
