/* Tests of kernels/: dense and Monarch products, materialization, projection identities. */
#include <criterion/criterion.h>

#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic uniform(-1, 1) from a 64-bit LCG: tests must not depend on libc's rand(). */
static float urand(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(*st >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rand_vec(size_t n, uint64_t seed) {
  float *v = malloc(n * sizeof(float));
  cr_assert_not_null(v);
  for (size_t i = 0; i < n; i++) v[i] = urand(&seed);
  return v;
}
static double rel_diff(const float *a, const float *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Random Monarch of the given shape; returns filled m. */
static void rand_monarch(mon_monarch *m, int out, int in, int nb, uint64_t seed) {
  cr_assert_eq(mon_monarch_create(m, out, in, nb), 0, "%s", mon_errmsg());
  for (size_t i = 0; i < mon_monarch_w1_len(m); i++) m->w1[i] = urand(&seed);
  for (size_t i = 0; i < mon_monarch_w2_len(m); i++) m->w2[i] = urand(&seed);
}

/* Monarch multiply (reference and fast) equals dense materialization times x. */
static void check_multiply(int out, int in, int nb, int batch) {
  mon_monarch m;
  rand_monarch(&m, out, in, nb, 1234 + out + 7 * in + nb);
  float *w = malloc((size_t)out * in * sizeof(float));
  mon_monarch_to_dense(&m, w);
  float *x = rand_vec((size_t)batch * in, 99);
  float *y_ref = calloc((size_t)batch * out, sizeof(float));
  float *y_fast = calloc((size_t)batch * out, sizeof(float));
  float *y_dense = calloc((size_t)batch * out, sizeof(float));
  mon_monarch_apply_ref(&m, batch, x, y_ref);
  cr_assert_eq(mon_monarch_apply(&m, batch, x, y_fast), 0);
  mon_dense_apply(w, out, in, batch, x, y_dense);
  double e1 = rel_diff(y_ref, y_dense, (size_t)batch * out);
  double e2 = rel_diff(y_fast, y_ref, (size_t)batch * out);
  cr_expect_lt(e1, 1e-5, "%dx%d nb=%d: reference vs dense materialization rel err %g", out, in, nb,
               e1);
  cr_expect_lt(e2, 1e-5, "%dx%d nb=%d: fast vs reference rel err %g", out, in, nb, e2);
  /* batch row 0 through the matvec path too */
  float *y1 = calloc(out, sizeof(float));
  mon_dense_matvec(w, out, in, x, y1);
  cr_expect_lt(rel_diff(y1, y_dense, out), 1e-5);
  free(y1), free(w), free(x), free(y_ref), free(y_fast), free(y_dense);
  mon_monarch_destroy(&m);
}

Test(monarch_multiply, square) {
  check_multiply(256, 256, 4, 3);
  check_multiply(256, 256, 16, 2);
  check_multiply(64, 64, 8, 1);
}
Test(monarch_multiply, rectangular_768x3072) {
  check_multiply(768, 3072, 4, 2);
}
Test(monarch_multiply, rectangular_3072x768) {
  check_multiply(3072, 768, 4, 2);
}
Test(monarch_multiply, odd_sizes_padding) {
  check_multiply(120, 360, 7, 3);
  check_multiply(360, 120, 7, 3);
  check_multiply(120, 360, 4, 2);
  check_multiply(10, 5, 4, 2); /* heavy padding: last input block is entirely padding */
  check_multiply(33, 33, 33, 2);
}

Test(monarch_shape, reference_layout) {
  mon_monarch m;
  cr_assert_eq(mon_monarch_shape(&m, 1024, 1024, 4), 0);
  cr_expect(m.k == 4 && m.q == 256 && m.p == 256 && m.l == 4 && m.s == 256 && m.r == 256);
  cr_assert_eq(mon_monarch_shape(&m, 3072, 768, 4), 0); /* in < out */
  cr_expect(m.k == 4 && m.q == 192 && m.p == 192 && m.l == 4 && m.s == 768 && m.r == 192);
  cr_assert_eq(mon_monarch_shape(&m, 768, 3072, 4), 0); /* in > out */
  cr_expect(m.k == 4 && m.q == 192 && m.p == 768 && m.l == 4 && m.s == 192 && m.r == 192);
  cr_expect_eq(mon_monarch_shape(&m, 16, 16, 0), -1);
  cr_expect_eq(mon_monarch_shape(&m, 16, 16, 17), -1);
  cr_expect(strstr(mon_errmsg(), "nblocks") != NULL, "message: %s", mon_errmsg());
}

Test(monarch_shape, block_rank_square) {
  mon_monarch m;
  cr_assert_eq(mon_monarch_shape(&m, 256, 256, 4), 0);
  for (int ll = 0; ll < 4; ll++)
    for (int kk = 0; kk < 4; kk++) cr_expect_eq(mon_monarch_block_rank(&m, ll, kk), 256 / 16);
  cr_assert_eq(mon_monarch_shape(&m, 256, 256, 16), 0);
  for (int ll = 0; ll < 16; ll++) cr_expect_eq(mon_monarch_block_rank(&m, ll, 3), 1);
}

/* Projecting an exact Monarch matrix recovers it. */
static void check_recover(int out, int in, int nb) {
  mon_monarch m, pm;
  rand_monarch(&m, out, in, nb, 77 + nb);
  float *d = malloc((size_t)out * in * sizeof(float));
  float *d2 = malloc((size_t)out * in * sizeof(float));
  mon_monarch_to_dense(&m, d);
  mon_project_info info;
  cr_assert_eq(mon_monarch_project(d, out, in, nb, &pm, &info), 0, "%s", mon_errmsg());
  mon_monarch_to_dense(&pm, d2);
  double e = rel_diff(d2, d, (size_t)out * in);
  cr_expect_lt(e, 1e-5, "%dx%d nb=%d: recovered rel err %g", out, in, nb, e);
  cr_expect_lt(info.rel_err, 1e-5, "reported rel err %g", info.rel_err);
  free(d), free(d2);
  mon_monarch_destroy(&m), mon_monarch_destroy(&pm);
}
Test(monarch_project, recovers_exact_monarch) {
  check_recover(256, 256, 4);
  check_recover(256, 256, 16);
  check_recover(256, 1024, 4);
  check_recover(1024, 256, 4);
  check_recover(192, 192, 8);
}

/* ||D - M||_F^2 equals the sum of discarded singular values squared, and the measured error
 * equals the reported one (divisible shapes: no padding). */
static void check_identity(int out, int in, int nb) {
  float *d = rand_vec((size_t)out * in, 5 + out + nb);
  float *dm = malloc((size_t)out * in * sizeof(float));
  mon_monarch pm;
  mon_project_info info;
  cr_assert_eq(mon_monarch_project(d, out, in, nb, &pm, &info), 0, "%s", mon_errmsg());
  mon_monarch_to_dense(&pm, dm);
  double err2 = 0;
  for (size_t i = 0; i < (size_t)out * in; i++)
    err2 += ((double)d[i] - dm[i]) * ((double)d[i] - dm[i]);
  double rel = fabs(err2 - info.discarded_sq) / info.discarded_sq;
  cr_expect_lt(rel, 1e-4, "%dx%d nb=%d: ||D-M||^2 %.8g vs discarded %.8g (rel %g)", out, in, nb,
               err2, info.discarded_sq, rel);
  cr_expect_lt(fabs(info.err_fro * info.err_fro - err2) / err2, 1e-4);
  cr_expect_lt(fabs(info.kept_sq + info.discarded_sq - info.norm_fro * info.norm_fro) /
                   (info.norm_fro * info.norm_fro),
               1e-4, "kept + discarded = ||D||^2");
  free(d), free(dm);
  mon_monarch_destroy(&pm);
}
Test(monarch_project, error_equals_discarded_singular_values) {
  check_identity(256, 256, 4);
  check_identity(256, 256, 16);
  check_identity(128, 512, 4);
  check_identity(512, 128, 8);
}

/* The projection is never worse than other Monarch matrices nearby (perturbed factors). */
Test(monarch_project, optimal_against_perturbations) {
  const int n = 128, nb = 4;
  float *d = rand_vec((size_t)n * n, 4242);
  float *dm = malloc((size_t)n * n * sizeof(float));
  mon_monarch pm;
  mon_project_info info;
  cr_assert_eq(mon_monarch_project(d, n, n, nb, &pm, &info), 0);
  uint64_t st = 17;
  for (int trial = 0; trial < 20; trial++) {
    mon_monarch q;
    cr_assert_eq(mon_monarch_create(&q, n, n, nb), 0);
    float eps = trial < 10 ? 1e-3f : 1e-1f;
    for (size_t i = 0; i < mon_monarch_w1_len(&q); i++) q.w1[i] = pm.w1[i] + eps * urand(&st);
    for (size_t i = 0; i < mon_monarch_w2_len(&q); i++) q.w2[i] = pm.w2[i] + eps * urand(&st);
    mon_monarch_to_dense(&q, dm);
    double e2 = 0;
    for (size_t i = 0; i < (size_t)n * n; i++)
      e2 += ((double)d[i] - dm[i]) * ((double)d[i] - dm[i]);
    cr_expect_geq(sqrt(e2) * (1 + 1e-6), info.err_fro, "trial %d eps %g: %g < projected %g", trial,
                  eps, sqrt(e2), info.err_fro);
    mon_monarch_destroy(&q);
  }
  free(d), free(dm);
  mon_monarch_destroy(&pm);
}

Test(monarch_counts, square_density) {
  mon_monarch m;
  cr_assert_eq(mon_monarch_shape(&m, 1024, 1024, 4), 0);
  mon_counts c;
  mon_monarch_counts(&m, &c);
  cr_expect_eq(c.dense_params, 1024LL * 1024);
  cr_expect_eq(c.monarch_params, 2LL * 1024 * 1024 / 4); /* density 2/nblocks */
  cr_expect_eq(c.monarch_flops, 2 * c.monarch_params);
}

/* ---------------------------------------------------------------- BLAS threads */

/* Products whose bits OpenBLAS changes with its thread count (found by comparing 1 and 2
 * threads on a 2-core machine): the kernels must give the same bits whatever
 * OPENBLAS_NUM_THREADS or openblas_set_num_threads said before. */
static void blas_products(int blas_threads, float *y1, float *y2, float *y3) {
  enum { M = 3, N = 1000, K = 2000, VN = 100, VK = 4096 };
  float *a = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * N * K);
  float *v = malloc(sizeof(float) * VN * VK);
  uint64_t s = 7;
  for (int i = 0; i < M * K; i++)
    a[i] = (float)((s = s * 6364136223846793005ULL + 1) >> 40) / 16777216.0f - 0.5f;
  for (int i = 0; i < N * K; i++)
    w[i] = (float)((s = s * 6364136223846793005ULL + 1) >> 40) / 16777216.0f - 0.5f;
  for (int i = 0; i < VN * VK; i++)
    v[i] = (float)((s = s * 6364136223846793005ULL + 1) >> 40) / 16777216.0f - 0.5f;
  openblas_set_num_threads(blas_threads);
  mon_dense_apply(w, N, K, M, a, y1);
  openblas_set_num_threads(blas_threads);
  mon_dense_matvec(v, VN, VK, w, y2);
  mon_monarch m;
  cr_assert_eq(mon_monarch_create(&m, 1024, 1024, 4), 0);
  for (size_t i = 0; i < mon_monarch_w1_len(&m); i++) m.w1[i] = w[i] * 0.1f;
  for (size_t i = 0; i < mon_monarch_w2_len(&m); i++) m.w2[i] = w[i + 7] * 0.1f;
  openblas_set_num_threads(blas_threads);
  cr_assert_eq(mon_monarch_apply(&m, M, a, y3), 0);
  mon_monarch_destroy(&m);
  free(a), free(w), free(v);
}

Test(blas_threads, kernels_independent_of_openblas_threads) {
  int saved = openblas_get_num_threads();
  float *y[2][3];
  for (int t = 0; t < 2; t++) {
    y[t][0] = malloc(sizeof(float) * 3 * 1000);
    y[t][1] = malloc(sizeof(float) * 100);
    y[t][2] = malloc(sizeof(float) * 3 * 1024);
    blas_products(t ? 2 : 1, y[t][0], y[t][1], y[t][2]);
  }
  openblas_set_num_threads(saved);
  cr_expect_eq(memcmp(y[0][0], y[1][0], sizeof(float) * 3 * 1000), 0, "dense apply 3x1000x2000");
  cr_expect_eq(memcmp(y[0][1], y[1][1], sizeof(float) * 100), 0, "dense matvec 100x4096");
  cr_expect_eq(memcmp(y[0][2], y[1][2], sizeof(float) * 3 * 1024), 0, "monarch 1024, nblocks 4");
  for (int t = 0; t < 2; t++)
    for (int i = 0; i < 3; i++) free(y[t][i]);
}
