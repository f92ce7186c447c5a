// Gloo baseline for bench/compare_allreduce.sh: old-style AllreduceRingChunked
// or AllreduceHalvingDoubling over Gloo's TCP transport on loopback, fp32
// sum, rendezvous through a FileStore. Times like `tern bench allreduce`:
// per repetition, a barrier then `iters` all-reduces; prints the median
// seconds per all-reduce as JSON (rank 0).
//
//   gloo_allreduce RANK SIZE BYTES ALGO(ring_chunked|halving_doubling) STORE_DIR ITERS REPS
#include <gloo/allreduce_halving_doubling.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/barrier_all_to_all.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s RANK SIZE BYTES ALGO STORE_DIR ITERS REPS\n", argv[0]);
    return 2;
  }
  const int rank = std::atoi(argv[1]), size = std::atoi(argv[2]);
  const size_t count = std::strtoull(argv[3], nullptr, 10) / sizeof(float);
  const std::string algo = argv[4];
  const int iters = std::atoi(argv[6]), reps = std::atoi(argv[7]);

  gloo::transport::tcp::attr attr;
  attr.hostname = "127.0.0.1";
  auto dev = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(argv[5]);
  auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
  ctx->connectFullMesh(store, dev);

  std::vector<float> buf(count);
  for (size_t i = 0; i < count; ++i) buf[i] = static_cast<float>(i % 1000) * 1e-3f - 0.5f;
  std::vector<float*> ptrs{buf.data()};
  std::unique_ptr<gloo::Algorithm> op;
  if (algo == "ring_chunked") {
    op = std::make_unique<gloo::AllreduceRingChunked<float>>(ctx, ptrs, static_cast<int>(count));
  } else if (algo == "halving_doubling") {
    op = std::make_unique<gloo::AllreduceHalvingDoubling<float>>(ctx, ptrs, static_cast<int>(count));
  } else {
    std::fprintf(stderr, "unknown algorithm %s\n", algo.c_str());
    return 2;
  }
  gloo::BarrierAllToAll barrier(ctx);
  for (int i = 0; i < 2; ++i) op->run();  // warm-up
  std::vector<double> per_op;
  for (int r = 0; r < reps; ++r) {
    barrier.run();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) op->run();
    per_op.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                     iters);
  }
  std::sort(per_op.begin(), per_op.end());
  if (rank == 0) {
    std::printf("{\"lib\": \"gloo_%s\", \"ranks\": %d, \"bytes\": %zu, \"seconds\": %.9f}\n",
                algo.c_str(), size, count * sizeof(float), per_op[per_op.size() / 2]);
  }
  return 0;
}
