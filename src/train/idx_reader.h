// Reader for IDX files (the MNIST / Fashion-MNIST format), gzip'd or plain.
//
// An IDX file is: two zero bytes, an element-type byte (0x08 = unsigned
// byte, the only type read here), the number of dimensions, then one
// big-endian uint32 per dimension, then the elements in row-major order.
// The Debian package dataset-fashion-mnist ships them gzip'd; zlib's gzread
// reads both the gzip'd and the plain form.
//
// The file is hostile input (DESIGN.md semantic 7): the magic, the number of
// dimensions and every dimension are checked against bounds, and the
// declared payload size is checked against the file before anything is
// allocated: exactly for a plain file, against the gzip trailer's ISIZE
// (length mod 2^32) and deflate's maximum ratio for a gzip'd one. Truncated
// data, trailing bytes and gzip CRC errors are kDataLoss.
//
//   TERN_ASSIGN_OR_RETURN(IdxArray a, ReadIdx("train-images-idx3-ubyte.gz", 3));
//   // a.dims == {60000, 28, 28}, a.data.size() == 60000 * 28 * 28
//
// Thread-safety: the functions are reentrant.
#ifndef TERN_TRAIN_IDX_READER_H_
#define TERN_TRAIN_IDX_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::train {

// Bounds a well-formed file never reaches; anything past them is corrupt.
inline constexpr int64_t kIdxMaxItems = 10'000'000;  // first dimension
inline constexpr int64_t kIdxMaxInnerDim = 4096;     // any later dimension
inline constexpr int64_t kIdxMaxBytes = int64_t{1} << 32;

struct IdxReadOptions {
  // Read only the first `max_items` entries of the first dimension (all when
  // negative). The size checks still apply to the whole declared file, but
  // bytes past the prefix (and the gzip CRC) are not read.
  int64_t max_items = -1;
};

// An IDX array of unsigned bytes.
struct IdxArray {
  std::vector<int64_t> dims;  // dims[0] = items actually read
  std::vector<uint8_t> data;  // row-major, product(dims) bytes
};

// Reads an IDX file of unsigned bytes with `expected_rank` dimensions.
// Returns kNotFound if the file does not exist, kInvalidArgument if it is
// not an IDX file of unsigned bytes with that rank (or cannot be opened),
// kDataLoss if it is corrupt: dimensions out of bounds, sizes that disagree
// with the file, truncation, trailing bytes, a bad gzip stream. Blocks on
// file I/O.
Result<IdxArray> ReadIdx(const std::string& path, int expected_rank,
                         const IdxReadOptions& options = {});

}  // namespace tern::train

#endif  // TERN_TRAIN_IDX_READER_H_
