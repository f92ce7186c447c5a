#include "algo/metadata.h"

#include "util/bytes.h"

namespace tern::algo {
namespace {
constexpr uint32_t kMagic = 0x444D5354;  // "TSMD"
constexpr uint8_t kVersion = 1;
}  // namespace

std::string EncodeMetadata(const Metadata& m) {
  std::string out;
  ByteWriter w(&out);
  w.U32(kMagic);
  w.U8(kVersion);
  w.U8(m.strategy);
  w.U64(m.config_hash);
  w.U64(m.step);
  w.U32(static_cast<uint32_t>(m.members.size()));
  for (uint64_t id : m.members) w.U64(id);
  return out;
}

Result<Metadata> DecodeMetadata(std::string_view bytes) {
  ByteReader r(bytes);
  auto bad = [](std::string_view why) {
    return DataLossError("strategy metadata: " + std::string(why));
  };
  Result<uint32_t> magic = r.U32();
  if (!magic.ok() || *magic != kMagic) return bad("bad magic");
  Result<uint8_t> version = r.U8();
  if (!version.ok() || *version != kVersion) return bad("unsupported version");
  Metadata m;
  Result<uint8_t> strategy = r.U8();
  Result<uint64_t> hash = r.U64();
  Result<uint64_t> step = r.U64();
  Result<uint32_t> count = r.U32();
  if (!strategy.ok() || !hash.ok() || !step.ok() || !count.ok()) return bad("truncated header");
  if (*step >= kMaxStep) return bad("step out of range");
  if (*count > kMaxMembers) return bad("too many members");
  if (r.remaining() != uint64_t{*count} * 8) return bad("member list length mismatch");
  m.strategy = *strategy;
  m.config_hash = *hash;
  m.step = *step;
  m.members.reserve(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    uint64_t id = *r.U64();  // length checked above
    if (!m.members.empty() && id <= m.members.back()) return bad("members not ascending");
    m.members.push_back(id);
  }
  return m;
}

}  // namespace tern::algo
