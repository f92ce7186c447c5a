#include "membership/master_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/bytes.h"
#include "util/crc32c.h"

namespace tern::membership {
namespace {

constexpr char kMagic[4] = {'T', 'M', 'S', '1'};
constexpr size_t kHeader = 12;
constexpr uint32_t kMaxStateBytes = 64 << 20;

Status IoError(const std::string& what, const std::string& path) {
  return UnavailableError(what + " " + path + ": " + std::strerror(errno) + " (errno " +
                          std::to_string(errno) + ")");
}

}  // namespace

std::string EncodeMasterState(const proto::MasterState& s) {
  std::string body;
  s.SerializeToString(&body);
  std::string out(kMagic, 4);
  ByteWriter w(&out);
  w.U32(static_cast<uint32_t>(body.size()));
  w.U32(Crc32c(body.data(), body.size()));
  out += body;
  return out;
}

Result<proto::MasterState> DecodeMasterState(const std::string& bytes) {
  if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return DataLossError("master state: bad magic or short file");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint32_t len = LoadLE32(p + 4);
  if (len > kMaxStateBytes || len != bytes.size() - kHeader) {
    return DataLossError("master state: length " + std::to_string(len) + " does not match");
  }
  if (Crc32c(p + kHeader, len) != LoadLE32(p + 8)) {
    return DataLossError("master state: checksum mismatch");
  }
  proto::MasterState s;
  if (!s.ParseFromArray(p + kHeader, static_cast<int>(len))) {
    return DataLossError("master state: malformed message");
  }
  return s;
}

MasterStore::MasterStore(std::string dir)
    : dir_(std::move(dir)), path_(dir_ + "/master_state.pb") {}

Result<MasterStore> MasterStore::Open(const std::string& dir) {
  if (dir.empty()) return InvalidArgumentError("empty state dir");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("mkdir", dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return UnavailableError("state dir " + dir + " is not a directory");
  }
  return MasterStore(dir);
}

Result<std::optional<proto::MasterState>> MasterStore::Load() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<proto::MasterState>();
    return IoError("stat", path_);
  }
  if (st.st_size > static_cast<off_t>(kMaxStateBytes + kHeader)) {
    return DataLossError("master state " + path_ + " is too large");
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) return IoError("open", path_);
  std::ostringstream ss;
  ss << in.rdbuf();
  TERN_ASSIGN_OR_RETURN(proto::MasterState s, DecodeMasterState(ss.str()));
  return std::optional<proto::MasterState>(std::move(s));
}

Status MasterStore::Save(const proto::MasterState& s) const {
  const std::string bytes = EncodeMasterState(s);
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("open", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = IoError("write", tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = IoError("fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return IoError("rename", tmp);
  // Make the rename itself durable.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

}  // namespace tern::membership
