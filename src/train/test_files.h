// Test helpers: a scratch directory and crafted IDX files, plain or gzip'd.
#ifndef TERN_TRAIN_TEST_FILES_H_
#define TERN_TRAIN_TEST_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tern::train::testing {

// A fresh directory under TMPDIR (or /tmp), removed with its contents on
// destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The bytes of an IDX file of unsigned bytes: header (magic 0 0 8 rank,
// big-endian dims) then `data`.
std::string IdxBytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);
void WriteBytes(const std::string& path, const std::string& bytes);
void WriteGzip(const std::string& path, const std::string& bytes);
std::string ReadBytes(const std::string& path);

}  // namespace tern::train::testing

#endif  // TERN_TRAIN_TEST_FILES_H_
