// Run secrets (tern/master.h): generation and secret files.
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tern/master.h"

namespace tern {
namespace {
constexpr size_t kMinSecretBytes = 16;
constexpr size_t kMaxSecretBytes = 4096;
}  // namespace

Result<std::string> GenerateSecret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return InternalError("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : raw) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string why = "secret file " + path + ": " + std::strerror(errno);
    return errno == EACCES ? PermissionDeniedError(why) : NotFoundError(why);
  }
  std::string s;
  s.resize(kMaxSecretBytes + 1);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<size_t>(in.gcount()));
  if (s.size() > kMaxSecretBytes) {
    return InvalidArgumentError("secret file " + path + " is larger than 4 KiB");
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() < kMinSecretBytes) {
    return InvalidArgumentError("secret file " + path + " holds fewer than 16 bytes");
  }
  return s;
}

}  // namespace tern
