// The IDX reader (src/train/idx_reader.cc) on hostile files, plain and
// gzip'd: it must return a status, never crash, hang or allocate more than
// the file can justify. The input becomes a memfd file, read through its
// /proc/self/fd path like any other file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "train/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("idx", 0);
  if (fd < 0) std::abort();
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  for (int rank : {1, 3}) {
    tern::Result<tern::train::IdxArray> r = tern::train::ReadIdx(path, rank);
    if (r.ok()) {
      int64_t n = 1;
      for (int64_t d : r->dims) n *= d;
      if (static_cast<size_t>(n) != r->data.size()) std::abort();
    }
  }
  close(fd);
  return 0;
}
