#include "util/check.h"

#include <cstdio>
#include <cstdlib>

#include "tern/status.h"

namespace tern::internal {

CheckFailure::CheckFailure(const char* file, int line, const char* condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::fprintf(stderr, "tern: %s\n", stream_.str().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tern::internal
