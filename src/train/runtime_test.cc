#include "train/runtime.h"

#include <gtest/gtest.h>

#include "train/model.h"

namespace tern::train {
namespace {

TEST(RuntimeTest, ClassifiesDebianBlasPaths) {
  EXPECT_EQ(ClassifyBlasPath("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"), BlasKind::kOpenBlas);
  EXPECT_EQ(ClassifyBlasPath("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"), BlasKind::kOpenBlas);
  EXPECT_EQ(ClassifyBlasPath("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"), BlasKind::kReference);
  EXPECT_EQ(ClassifyBlasPath("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"), BlasKind::kBlis);
  EXPECT_EQ(ClassifyBlasPath("/opt/intel/lib/libmkl_rt.so"), BlasKind::kMkl);
  EXPECT_EQ(ClassifyBlasPath("/somewhere/libfoo.so"), BlasKind::kUnknown);
  EXPECT_EQ(ClassifyBlasPath(""), BlasKind::kNone);
}

// toolchain.md: libtorch must run on OpenBLAS (libopenblas0-openmp), not the
// 10x slower reference BLAS. This fails on a machine set up otherwise.
TEST(RuntimeTest, TorchRunsOnOpenBlas) {
  BlasInfo info = DetectBlas();
  EXPECT_EQ(info.kind, BlasKind::kOpenBlas) << "sgemm_ comes from " << info.path;
}

TEST(RuntimeTest, InitSetsTheThreadCount) {
  Result<RuntimeInfo> r = InitTrainerRuntime(2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->threads, 2);
  EXPECT_EQ(TorchThreads(), 2);
  ASSERT_TRUE(InitTrainerRuntime(1).ok());
  EXPECT_EQ(TorchThreads(), 1);
  EXPECT_EQ(InitTrainerRuntime(0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::train
