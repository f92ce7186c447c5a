// Persistence of the master's view in --state-dir (DESIGN.md semantic 8):
// the file `master_state.pb` holds a proto MasterState behind a small
// header (magic "TMS1", u32 length, u32 crc32c). Writes go to a temporary
// file that is fsync'ed and renamed over the old one, so a crash leaves
// either the old or the new view, never a torn one.
//
// Thread-compatible.
#ifndef TERN_MEMBERSHIP_MASTER_STORE_H_
#define TERN_MEMBERSHIP_MASTER_STORE_H_

#include <optional>
#include <string>

#include "membership/proto/control.pb.h"
#include "tern/status.h"

namespace tern::membership {

// Encodes / decodes the file's bytes. Decode treats its input as hostile:
// kDataLoss on a bad magic, length, checksum or message.
std::string EncodeMasterState(const proto::MasterState& s);
Result<proto::MasterState> DecodeMasterState(const std::string& bytes);

class MasterStore {
 public:
  // Creates `dir` if needed. kUnavailable if it cannot.
  static Result<MasterStore> Open(const std::string& dir);

  // The stored view, or nullopt if none was written yet. kDataLoss if the
  // file is corrupt (refuse to start rather than lose the numbering).
  Result<std::optional<proto::MasterState>> Load() const;
  // Atomic replace. kUnavailable on an I/O error (the message names it).
  Status Save(const proto::MasterState& s) const;

  const std::string& path() const { return path_; }

 private:
  explicit MasterStore(std::string dir);
  std::string dir_;
  std::string path_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_MASTER_STORE_H_
