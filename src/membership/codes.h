// Status codes as they travel in control-plane messages (int32 fields):
// an unknown number from the wire becomes kUnknown, never an enum value
// tern does not define.
#ifndef TERN_MEMBERSHIP_CODES_H_
#define TERN_MEMBERSHIP_CODES_H_

#include <cstdint>
#include <string>

#include "tern/status.h"

namespace tern::membership {

inline StatusCode CodeFromWire(int32_t code) {
  const bool known = code >= 0 && code <= static_cast<int32_t>(StatusCode::kDataLoss);
  return known ? static_cast<StatusCode>(code) : StatusCode::kUnknown;
}

// REQUIRES: code != 0 (OK).
inline Status StatusFromWire(int32_t code, const std::string& message) {
  const StatusCode c = CodeFromWire(code);
  return Status(c == StatusCode::kOk ? StatusCode::kUnknown : c, message);
}

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_CODES_H_
