// `tern codec encode | decode | info | list`: compress a tensor file into a
// blob (docs/blob_format.md) and back, from the shell.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cmd_codec_io.h"
#include "codec/npy.h"
#include "command.h"
#include "tern/codec.h"
#include "tern/codec_blob.h"

namespace tern::cli {
namespace {

// Files larger than this are refused (the blob decoder's element limit).
constexpr uint64_t kMaxFileBytes = kDefaultMaxBlobElements * 4 + (1 << 20);

struct EncodeOptions {
  std::string spec, in, out;
  uint64_t seed = 0, step = 0, tensor_id = 0, chunk = 0;
  bool json = false;
};

int RunEncode(const EncodeOptions& o) {
  Result<std::unique_ptr<Codec>> codec = Codec::Create(o.spec);
  if (!codec.ok()) return Fail(codec.status());
  Result<TensorFile> t = ReadTensorFile(o.in, kMaxFileBytes);
  if (!t.ok()) return Fail(t.status());
  std::string blob;
  CodecContext ctx{.seed = o.seed, .step = o.step, .tensor_id = o.tensor_id};
  Status s = EncodeBlob(**codec, t->view(), ctx, &blob, {.chunk_elements = o.chunk});
  if (!s.ok()) return Fail(s);
  s = WriteFile(o.out, blob);
  if (!s.ok()) return Fail(s);
  const double n = static_cast<double>(t->shape.numel());
  const double bits = n > 0 ? 8.0 * static_cast<double>(blob.size()) / n : 0.0;
  if (o.json) {
    nlohmann::json j = {{"spec", (*codec)->spec()},     {"elements", t->shape.numel()},
                        {"shape", t->shape.dims()},     {"dtype", DTypeName(t->dtype)},
                        {"blob_bytes", blob.size()},    {"bits_per_element", bits}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s: %lld elements %s -> %zu bytes (%.4f bits/element) with %s\n",
                o.out.c_str(), static_cast<long long>(t->shape.numel()),
                t->shape.ToString().c_str(), blob.size(), bits, (*codec)->spec().c_str());
  }
  return 0;
}

struct DecodeOptions {
  std::string in, out, format = "auto";
};

int RunDecode(const DecodeOptions& o) {
  Result<std::string> bytes = ReadFile(o.in, kMaxFileBytes);
  if (!bytes.ok()) return Fail(bytes.status());
  Result<DecodedBlob> d = DecodeBlob(*bytes);
  if (!d.ok()) return Fail(d.status().WithContext(o.in));
  bool npy = o.format == "npy" ||
             (o.format == "auto" && o.out.size() >= 4 && o.out.substr(o.out.size() - 4) == ".npy");
  std::string out;
  if (npy) {
    DType dt = d->header.dtype == DType::kF16 ? DType::kF16 : DType::kF32;  // numpy has no bf16
    out = codec::EncodeNpy(d->values, d->header.shape, dt);
  } else {
    out.assign(reinterpret_cast<const char*>(d->values.data()), 4 * d->values.size());
  }
  Status s = WriteFile(o.out, out);
  return s.ok() ? 0 : Fail(s);
}

int RunInfo(const std::string& in, bool json) {
  Result<std::string> bytes = ReadFile(in, kMaxFileBytes);
  if (!bytes.ok()) return Fail(bytes.status());
  Result<BlobHeader> h = ParseBlobHeader(*bytes);
  if (!h.ok()) return Fail(h.status().WithContext(in));
  uint64_t payload = 0;
  for (uint64_t s : h->payload_sizes) payload += s;
  nlohmann::json j = {{"version", h->version},
                      {"spec", h->spec},
                      {"dtype", DTypeName(h->dtype)},
                      {"shape", h->shape.dims()},
                      {"elements", h->shape.numel()},
                      {"chunks", h->payload_sizes.size()},
                      {"payload_bytes", payload},
                      {"blob_bytes", h->total_bytes},
                      {"seed", h->ctx.seed},
                      {"step", h->ctx.step},
                      {"tensor_id", h->ctx.tensor_id}};
  if (json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", j.dump(2).c_str());
  }
  return 0;
}

int RunList(bool json) {
  if (json) {
    nlohmann::json all = nlohmann::json::array();
    for (const CodecInfo& c : ListCodecs()) {
      nlohmann::json params = nlohmann::json::array();
      for (const CodecParamInfo& p : c.params) {
        params.push_back({{"name", p.name}, {"default", p.default_value},
                          {"description", p.description}});
      }
      all.push_back({{"name", c.name}, {"kind", c.kind}, {"description", c.description},
                     {"params", params}});
    }
    std::printf("%s\n", all.dump(2).c_str());
    return 0;
  }
  for (const CodecInfo& c : ListCodecs()) {
    std::printf("%-9s %-8s %s\n", c.name.c_str(), c.kind.c_str(), c.description.c_str());
    for (const CodecParamInfo& p : c.params) {
      std::printf("          %s=%s  %s\n", p.name.c_str(), p.default_value.c_str(),
                  p.description.c_str());
    }
  }
  std::printf("\nSpecs chain stages with '|': value [index] [zstd], e.g. "
              "topk:density=0.01|rice|zstd; feedback wraps one: ef21(topk:density=0.01).\n"
              "Grammar and bit layouts: docs/codec_spec.md.\n");
  return 0;
}

}  // namespace
}  // namespace tern::cli

using tern::cli::AddCommand;

TERN_COMMAND(CodecEncode, "codec 1 encode") {
  auto o = std::make_shared<tern::cli::EncodeOptions>();
  CLI::App* cmd = AddCommand(root, {"codec", "encode"},
                             "Compress a tensor file (raw fp32 or .npy fp32/fp16) into a blob",
                             [o] { return tern::cli::RunEncode(*o); });
  cmd->add_option("--spec", o->spec, "codec spec, e.g. int8:block=256 (see `tern codec list`)")
      ->required();
  cmd->add_option("--in", o->in, "input: raw little-endian fp32, or .npy (float32/float16)")
      ->required();
  cmd->add_option("--out", o->out, "output blob file")->required();
  cmd->add_option("--seed", o->seed, "run seed for codecs with randomness");
  cmd->add_option("--step", o->step, "step, part of the randomness key");
  cmd->add_option("--tensor-id", o->tensor_id, "tensor id, part of the randomness key");
  cmd->add_option("--chunk", o->chunk, "encode in independent chunks of this many elements");
  cmd->add_flag("--json", o->json, "print the result as JSON");
}

TERN_COMMAND(CodecDecode, "codec 2 decode") {
  auto o = std::make_shared<tern::cli::DecodeOptions>();
  CLI::App* cmd = AddCommand(root, {"codec", "decode"}, "Decode a blob into a tensor file",
                             [o] { return tern::cli::RunDecode(*o); });
  cmd->add_option("--in", o->in, "input blob file")->required();
  cmd->add_option("--out", o->out, "output: .npy keeps the shape (fp16 stays fp16), else raw fp32")
      ->required();
  cmd->add_option("--format", o->format, "auto (by --out extension), raw or npy")
      ->check(CLI::IsMember({"auto", "raw", "npy"}));
}

TERN_COMMAND(CodecInfo, "codec 3 info") {
  auto in = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = AddCommand(root, {"codec", "info"}, "Print a blob's header (checks it)",
                             [in, json] { return tern::cli::RunInfo(*in, *json); });
  cmd->add_option("--in", *in, "blob file")->required();
  cmd->add_flag("--json", *json, "one line of JSON");
}

TERN_COMMAND(CodecList, "codec 4 list") {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = AddCommand(root, {"codec", "list"},
                             "List every codec stage with its parameters and defaults",
                             [json] { return tern::cli::RunList(*json); });
  cmd->add_flag("--json", *json, "print as JSON");
}
