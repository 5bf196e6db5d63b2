/* Dense linear layers through CBLAS (OpenBLAS). */
#include "kernels.h"

#include <cblas.h>

void mon_dense_matvec(const float *w, int out, int in, const float *x, float *y) {
  cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w, in, x, 1, 0.0f, y, 1);
}

void mon_dense_apply(const float *w, int out, int in, int batch, const float *x, float *y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, x, in, w, in, 0.0f, y,
              out);
}
