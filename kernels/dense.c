/* Dense linear layers through CBLAS (OpenBLAS). */
#include "kernels.h"

#include <cblas.h>
#include <omp.h>

void mon_blas_serial(void) {
  if (!omp_in_parallel() && openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

void mon_dense_matvec(const float *w, int out, int in, const float *x, float *y) {
  mon_blas_serial();
  cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w, in, x, 1, 0.0f, y, 1);
}

void mon_dense_apply(const float *w, int out, int in, int batch, const float *x, float *y) {
  mon_blas_serial();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, x, in, w, in, 0.0f, y,
              out);
}
