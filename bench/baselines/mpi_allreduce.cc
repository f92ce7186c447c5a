// OpenMPI baseline for bench/compare_allreduce.sh: MPI_Allreduce (in place,
// fp32 sum). Timed like `tern bench allreduce`: per repetition a barrier
// then `iters` all-reduces; prints the median seconds per all-reduce as
// JSON (rank 0).
//
//   mpirun -np N mpi_allreduce BYTES ITERS REPS
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 4) {
    if (rank == 0) std::fprintf(stderr, "usage: %s BYTES ITERS REPS\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const size_t count = std::strtoull(argv[1], nullptr, 10) / sizeof(float);
  const int iters = std::atoi(argv[2]), reps = std::atoi(argv[3]);
  std::vector<float> buf(count);
  for (size_t i = 0; i < count; ++i) buf[i] = static_cast<float>(i % 1000) * 1e-3f - 0.5f;
  for (int i = 0; i < 2; ++i) {
    MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  }
  std::vector<double> per_op;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int i = 0; i < iters; ++i) {
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    }
    per_op.push_back((MPI_Wtime() - t0) / iters);
  }
  std::sort(per_op.begin(), per_op.end());
  if (rank == 0) {
    std::printf("{\"lib\": \"mpi\", \"ranks\": %d, \"bytes\": %zu, \"seconds\": %.9f}\n", size,
                count * sizeof(float), per_op[per_op.size() / 2]);
  }
  MPI_Finalize();
  return 0;
}
