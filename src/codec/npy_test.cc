#include "codec/npy.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tern::codec {
namespace {

// A .npy preamble (version 1.0) around `header`, then `data_bytes` zero bytes.
std::string File(const std::string& header, size_t data_bytes, char major = 1) {
  std::string out("\x93NUMPY", 6);
  out.push_back(major);
  out.push_back('\0');
  if (major == 1) {
    out.push_back(static_cast<char>(header.size() & 0xFF));
    out.push_back(static_cast<char>(header.size() >> 8));
  } else {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(header.size() >> (8 * i)));
  }
  return out + header + std::string(data_bytes, '\0');
}

std::string Dict(const std::string& descr, const std::string& order, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

TEST(NpyTest, RoundTripsFloat32AndFloat16WithTheirShapes) {
  const std::vector<float> v = {1.0f, -2.5f, 0.0f, 3.25f, 1e-3f, -7.0f};
  for (DType dtype : {DType::kF32, DType::kF16}) {
    for (const Shape& shape : {Shape({2, 3}), Shape({6}), Shape({1, 2, 1, 3})}) {
      const std::string file = EncodeNpy(v, shape, dtype);
      EXPECT_EQ(file.size() % 64, v.size() * DTypeSize(dtype) % 64);  // padded preamble
      Result<NpyArray> a = ParseNpy(file);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      EXPECT_EQ(a->dtype, dtype);
      EXPECT_EQ(a->shape, shape);
      ASSERT_EQ(a->data.size(), v.size() * DTypeSize(dtype));
      if (dtype == DType::kF32) {
        EXPECT_EQ(std::memcmp(a->data.data(), v.data(), 24), 0);
      }
    }
  }
}

TEST(NpyTest, ScalarsEmptyArraysAndVersionTwoHeaders) {
  Result<NpyArray> scalar = ParseNpy(File(Dict("<f4", "False", "()"), 4));
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_EQ(scalar->shape.rank(), 0);
  // A zero dimension makes the array empty whatever the others are.
  Result<NpyArray> empty = ParseNpy(File(Dict("<f2", "False", "(1099511627776, 0)"), 0));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->data.empty());
  EXPECT_TRUE(ParseNpy(File(Dict("<f4", "False", "(2,)"), 8, 2)).ok());
  EXPECT_TRUE(ParseNpy(File(Dict("<f4", "False", "(2,)"), 8, 3)).ok());
}

TEST(NpyTest, BadFilesAreErrorsNotCrashes) {
  struct Case {
    std::string file;
    StatusCode code;
  };
  const Case cases[] = {
      {"", StatusCode::kDataLoss},
      {std::string("\x93NUMPY", 6), StatusCode::kDataLoss},
      {"\x93NUMPZ\x01\x00\x00\x00", StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(2,)"), 8, 4), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(2,)"), 8).substr(0, 20), StatusCode::kDataLoss},
      {File(Dict("<f8", "False", "(2,)"), 16), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "True", "(2,)"), 8), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(2,)"), 7), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(2,)"), 9), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "2"), 8), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(2, x)"), 8), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(-2,)"), 8), StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(1,1,1,1,1,1,1,1,1)"), 4), StatusCode::kInvalidArgument},
      // Dimensions whose product overflows 64 bits must not wrap to a match.
      {File(Dict("<f4", "False", "(1099511627776, 1099511627776, 1099511627776)"), 0),
       StatusCode::kInvalidArgument},
      {File(Dict("<f4", "False", "(99999999999999999999,)"), 4), StatusCode::kInvalidArgument},
      {File("{'descr':", 0), StatusCode::kInvalidArgument},  // ends after a key
      {File("{'descr': '<f4', 'fortran_order': False, 'shape': (3,", 12),
       StatusCode::kInvalidArgument},
      {File("{'shape': (2,), }", 8), StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    Result<NpyArray> a = ParseNpy(c.file);
    ASSERT_FALSE(a.ok()) << c.file;
    EXPECT_EQ(a.status().code(), c.code) << c.file << ": " << a.status().ToString();
  }
}

TEST(NpyTest, IsNpyLooksAtTheMagicOnly) {
  EXPECT_TRUE(IsNpy(std::string("\x93NUMPY\x01", 7)));
  EXPECT_FALSE(IsNpy("\x93NUM"));
  EXPECT_FALSE(IsNpy(""));
}

}  // namespace
}  // namespace tern::codec
