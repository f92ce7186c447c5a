// `tern version`: prints the library version (also `tern --version`).
#include <cstdio>

#include "command.h"
#include "tern/version.h"

TERN_COMMAND(Version, "zz version") {
  tern::cli::AddCommand(root, {"version"}, "Print the version of tern", [] {
    std::printf("tern %s\n", tern::VersionString());
    return 0;
  });
}
