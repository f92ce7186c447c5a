// Uses the installed public API only: prints the version and checks that a
// Status and a fp16 conversion work through libtern.so.
#include <cstdio>

#include "tern/status.h"
#include "tern/tensor.h"
#include "tern/version.h"

int main() {
  tern::Status s = tern::UnavailableError("peer gone");
  if (s.code() != tern::StatusCode::kUnavailable) return 1;
  if (tern::HalfToFloat(tern::FloatToHalf(1.5f)) != 1.5f) return 1;
  std::printf("consumer linked tern %s\n", tern::VersionString());
  return 0;
}
