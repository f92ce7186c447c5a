// The library's version.
#ifndef TERN_VERSION_H_
#define TERN_VERSION_H_

#include "tern/export.h"

#define TERN_VERSION_STRING "0.1.0"

namespace tern {
// "0.1.0": the version of the libtern.so actually loaded.
TERN_EXPORT const char* VersionString();
}  // namespace tern

#endif  // TERN_VERSION_H_
