#include "tern/status.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgumentError("not positive");
  return x;
}

Status UsesMacros(int x, int* out) {
  TERN_ASSIGN_OR_RETURN(int v, ParsePositive(x));
  TERN_RETURN_IF_ERROR(v > 100 ? OutOfRangeError("too big") : OkStatus());
  *out = v;
  return OkStatus();
}

TEST(StatusTest, OkIsNullAndCheap) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = UnavailableError("peer 3 closed");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.ToString(), "UNAVAILABLE: peer 3 closed");
  Status copy = s;
  EXPECT_EQ(copy, s);
  EXPECT_EQ(s.WithContext("all_reduce").ToString(), "UNAVAILABLE: all_reduce: peer 3 closed");
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  int out = 0;
  EXPECT_EQ(UsesMacros(-1, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(UsesMacros(500, &out).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(UsesMacros(7, &out).ok());
  EXPECT_EQ(out, 7);
}

TEST(StatusTest, ResultFromOkStatusIsInternalError) {
  Result<int> r{OkStatus()};
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(StatusDeathTest, ValueOfErrorResultAborts) {
  Result<std::string> r = DataLossError("bad crc");
  EXPECT_DEATH((void)r.value(), "bad crc");
}

}  // namespace
}  // namespace tern
