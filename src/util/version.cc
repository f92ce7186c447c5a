#include "tern/version.h"

namespace tern {
const char* VersionString() { return TERN_VERSION_STRING; }
}  // namespace tern
