/* The C reference of bench/distributed.ts: Open MPI's own MPI_Allreduce (in place, float32,
 * sum) on a buffer of the given MiB, the median of the given iterations after one warm-up,
 * the same measurement bench/distributed_rank.ts makes through neocog. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  const double mib = argc > 1 ? atof(argv[1]) : 100.0;
  const int iterations = argc > 2 ? atoi(argv[2]) : 10;
  const size_t count = (size_t)(mib * 1048576.0 / 4.0);
  float* data = calloc(count, sizeof(float));
  double* times = calloc((size_t)iterations, sizeof(double));
  for (int i = 0; i < iterations + 1; i++) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (i > 0) times[i - 1] = MPI_Wtime() - start;
  }
  qsort(times, (size_t)iterations, sizeof(double), compare);
  if (rank == 0) printf("{\"world\": %d, \"bytes\": %zu, \"seconds\": %.9f}\n", world, count * 4, times[iterations / 2]);
  free(times);
  free(data);
  MPI_Finalize();
  return 0;
}
