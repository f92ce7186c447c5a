// Process-wide set-up of the torch runtime for a worker: threads and BLAS.
//
// Debian's libtorch calls the system BLAS (libblas.so.3, an alternatives
// link). If that resolves to the reference BLAS, linear layers run about 10x
// slower (toolchain.md: MLP epoch 10.4 s instead of 1.0 s); it must be
// OpenBLAS (libopenblas0-openmp, which honours torch's thread count).
// DetectBlas asks the dynamic linker which library provides sgemm_, the
// routine torch's matrix products call, and resolves symlinks to name it.
//
//   TERN_ASSIGN_OR_RETURN(RuntimeInfo info, InitTrainerRuntime(/*threads=*/1));
//   // logs a loud warning if info.blas.kind == BlasKind::kReference
//
// Thread-safety: call InitTrainerRuntime once, before training threads
// start; DetectBlas and ClassifyBlasPath are thread-safe.
#ifndef TERN_TRAIN_RUNTIME_H_
#define TERN_TRAIN_RUNTIME_H_

#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::train {

enum class BlasKind { kNone, kUnknown, kOpenBlas, kReference, kMkl, kBlis };
std::string_view BlasKindName(BlasKind kind);  // "openblas", "reference", ...

struct BlasInfo {
  BlasKind kind = BlasKind::kNone;
  std::string path;  // real path of the library providing sgemm_ ("" if none)
};

// Classifies a BLAS library by its real path: Debian installs the reference
// BLAS as .../blas/libblas.so.3 and OpenBLAS under .../openblas-*/ or as
// libopenblas*.so.
BlasKind ClassifyBlasPath(std::string_view real_path);
// The BLAS that provides sgemm_ in this process (kNone if none is loaded).
BlasInfo DetectBlas();

struct RuntimeInfo {
  int threads = 1;
  BlasInfo blas;
};

// Sets torch's (and OpenMP's, hence OpenBLAS's) thread count and checks the
// BLAS, logging a WARNING that says how to fix it when it is the reference
// one (training still runs, slowly). kInvalidArgument unless 1 <= threads <=
// 256.
//
// Why the thread count must be set: a fresh process has torch at 1 thread
// but OpenMP at one per core, so OpenBLAS runs multi-threaded under a torch
// that believes it is single-threaded, and the MLP's results then differ
// from run to run (measured). After an explicit set, 1 or 2 threads train
// bit-reproducibly.
Result<RuntimeInfo> InitTrainerRuntime(int threads);

// InitTrainerRuntime(1) unless it already ran in this process. Model::Create
// calls it, so a trainer is deterministic even if its caller forgot.
void EnsureTrainerRuntime();

}  // namespace tern::train

#endif  // TERN_TRAIN_RUNTIME_H_
