// The zstd byte stage: payload = one zstd frame holding the inner codec's
// payload. Decompression is bounded by the inner codec's MaxEncodedSize for
// the caller's n, never by the size the frame claims.
#include <zstd.h>

#include <vector>

#include "codec/codec_util.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

// Per-thread zstd contexts and scratch, so steady-state calls do not allocate.
struct ZstdScratch {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::vector<uint8_t> buf;
  ~ZstdScratch() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};
ZstdScratch& Scratch() {
  thread_local ZstdScratch s;
  return s;
}

class ZstdCodec final : public Codec {
 public:
  ZstdCodec(std::string spec, int level, std::unique_ptr<Codec> inner)
      : Codec(std::move(spec), inner->traits()), level_(level), inner_(std::move(inner)) {}

  size_t MaxEncodedSize(size_t n) const override {
    return ZSTD_compressBound(inner_->MaxEncodedSize(n));
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), MaxEncodedSize(in.size())));
    ZstdScratch& s = Scratch();
    s.buf.resize(inner_->MaxEncodedSize(in.size()));
    TERN_ASSIGN_OR_RETURN(size_t raw, inner_->Encode(in, ctx, std::span<uint8_t>(s.buf)));
    size_t z = ZSTD_compressCCtx(s.cctx, out.data(), out.size(), s.buf.data(), raw, level_);
    if (ZSTD_isError(z)) return InternalError(std::string("zstd: ") + ZSTD_getErrorName(z));
    return z;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext& ctx,
                    std::span<float> out, DecodeMode mode) const override {
    ZstdScratch& s = Scratch();
    s.buf.resize(inner_->MaxEncodedSize(out.size()));
    size_t raw = ZSTD_decompressDCtx(s.dctx, s.buf.data(), s.buf.size(), payload.data(),
                                     payload.size());
    if (ZSTD_isError(raw)) return DataLossError(std::string("zstd: ") + ZSTD_getErrorName(raw));
    // The inner decode may itself use this thread's scratch (nested zstd is
    // not allowed by the grammar), so hand it a view of buf as is.
    return inner_->DecodeImpl(std::span<const uint8_t>(s.buf.data(), raw), ctx, out, mode);
  }

 private:
  int level_;
  std::unique_ptr<Codec> inner_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeZstd(const StageParams& params, std::unique_ptr<Codec> inner,
                                        std::string spec) {
  TERN_ASSIGN_OR_RETURN(int64_t level, params.Integer("level", 1, 19));
  return std::unique_ptr<Codec>(new ZstdCodec(std::move(spec), static_cast<int>(level),
                                              std::move(inner)));
}

}  // namespace tern::codec
