#include "train/runtime.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <atomic>

#include "train/model.h"
#include "util/logging.h"

namespace tern::train {
namespace {

std::atomic<bool> g_runtime_ready{false};

}  // namespace

std::string_view BlasKindName(BlasKind kind) {
  switch (kind) {
    case BlasKind::kNone: return "none";
    case BlasKind::kUnknown: return "unknown";
    case BlasKind::kOpenBlas: return "openblas";
    case BlasKind::kReference: return "reference";
    case BlasKind::kMkl: return "mkl";
    case BlasKind::kBlis: return "blis";
  }
  return "unknown";
}

BlasKind ClassifyBlasPath(std::string_view path) {
  if (path.empty()) return BlasKind::kNone;
  if (path.find("openblas") != std::string_view::npos) return BlasKind::kOpenBlas;
  if (path.find("mkl") != std::string_view::npos) return BlasKind::kMkl;
  if (path.find("blis") != std::string_view::npos) return BlasKind::kBlis;
  // Debian's netlib reference BLAS: /usr/lib/<triplet>/blas/libblas.so.3.
  if (path.find("/blas/libblas.so") != std::string_view::npos) return BlasKind::kReference;
  return BlasKind::kUnknown;
}

BlasInfo DetectBlas() {
  BlasInfo info;
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (sym == nullptr || dladdr(sym, &where) == 0 || where.dli_fname == nullptr) return info;
  char resolved[PATH_MAX];
  info.path = realpath(where.dli_fname, resolved) != nullptr ? resolved : where.dli_fname;
  info.kind = ClassifyBlasPath(info.path);
  return info;
}

Result<RuntimeInfo> InitTrainerRuntime(int threads) {
  TERN_RETURN_IF_ERROR(SetTorchThreads(threads));
  g_runtime_ready = true;
  RuntimeInfo info;
  info.threads = TorchThreads();
  info.blas = DetectBlas();
  if (info.blas.kind == BlasKind::kReference) {
    TERN_LOG(WARNING) << "\n*** torch is using the REFERENCE BLAS (" << info.blas.path
                      << "): linear layers run about 10x slower.\n"
                      << "*** Fix: apt-get install libopenblas0-openmp, or select it with\n"
                      << "***   update-alternatives --config libblas.so.3-x86_64-linux-gnu";
  } else if (info.blas.kind != BlasKind::kOpenBlas) {
    TERN_LOG(WARNING) << "torch BLAS is " << BlasKindName(info.blas.kind) << " (" << info.blas.path
                      << "), not OpenBLAS; timings may differ from the references";
  }
  return info;
}

void EnsureTrainerRuntime() {
  if (!g_runtime_ready) InitTrainerRuntime(1).status().IgnoreError();  // 1 is always valid
}

}  // namespace tern::train
