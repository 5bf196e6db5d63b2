/* Tests of the GPT-2 model (kernels/layers.c, model.c, train.c, data.c).
 *
 * Gradient checks: every backward is compared with central finite differences of the float
 * forward. The objective of a layer check is J = sum_i r_i y_i (r fixed random), accumulated in
 * double. Step h = 1e-2 on O(1) inputs: the truncation error is O(h^2 |f'''|) ~ 1e-4 relative,
 * and float rounding of J (~1e-7 relative, |J| ~ 10) divided by 2h adds ~1e-5; the check is on
 * the relative L2 error over all checked coordinates, ||fd - an|| / ||an|| < 2e-2, while a
 * wrong formula (a missing term, a transposed index) gives errors of order 1. */
#include <criterion/criterion.h>

#include "kernels.h"
#include "layers.h"

#include <dirent.h>
#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GC_H   1e-2
#define GC_TOL 2e-2

static uint64_t rng_state = 12345;
static double urand(void) { /* splitmix64 -> [0, 1) */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (z >> 11) / 9007199254740992.0;
}
static void frand(float *x, size_t n, double a) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(a * (2 * urand() - 1));
}
static float *fal(size_t n) {
  float *p = calloc(n ? n : 1, sizeof(float));
  cr_assert_not_null(p);
  return p;
}

/* Relative L2 error accumulator of (numeric, analytic) pairs. */
typedef struct {
  double num, den;
  int n;
} gc_acc;
static void gc_add(gc_acc *a, double fd, double an) {
  a->num += (fd - an) * (fd - an);
  a->den += an * an;
  a->n++;
}
static void gc_check(const gc_acc *a, const char *what) {
  double rel = sqrt(a->num / (a->den > 0 ? a->den : 1e-300));
  cr_assert(a->den > 0, "%s: all analytic gradients are zero (degenerate check)", what);
  cr_assert(rel < GC_TOL, "%s: relative gradient error %.3g over %d coordinates (tol %g)", what,
            rel, a->n, GC_TOL);
}

static double dotd(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* ---------------------------------------------------------------- layer checks */

Test(gradcheck, layernorm) {
  const int n = 5, d = 12;
  float *x = fal(n * d), *g = fal(d), *b = fal(d), *y = fal(n * d), *r = fal(n * d);
  float *mu = fal(n), *rs = fal(n), *dx = fal(n * d), *dg = fal(d), *db = fal(d);
  frand(x, n * d, 2), frand(g, d, 1.5), frand(b, d, 1), frand(r, n * d, 1);
  mon_layernorm_fwd(n, d, 1e-5f, x, g, b, y, mu, rs);
  mon_layernorm_bwd(n, d, x, g, mu, rs, r, dx, dg, db);
  gc_acc ax = {0}, ag = {0}, ab = {0};
  float *targets[3] = {x, g, b}, *grads[3] = {dx, dg, db};
  int lens[3] = {n * d, d, d};
  gc_acc *accs[3] = {&ax, &ag, &ab};
  for (int t = 0; t < 3; t++)
    for (int i = 0; i < lens[t]; i++) {
      float s = targets[t][i];
      targets[t][i] = s + GC_H;
      mon_layernorm_fwd(n, d, 1e-5f, x, g, b, y, NULL, NULL);
      double jp = dotd(y, r, n * d);
      targets[t][i] = s - GC_H;
      mon_layernorm_fwd(n, d, 1e-5f, x, g, b, y, NULL, NULL);
      double jm = dotd(y, r, n * d);
      targets[t][i] = s;
      gc_add(accs[t], (jp - jm) / (2 * GC_H), grads[t][i]);
    }
  gc_check(&ax, "layernorm dx");
  gc_check(&ag, "layernorm dgamma");
  gc_check(&ab, "layernorm dbeta");
  free(x), free(g), free(b), free(y), free(r), free(mu), free(rs), free(dx), free(dg), free(db);
}

Test(gradcheck, gelu) {
  const int n = 64;
  float *x = fal(n), *y = fal(n), *r = fal(n), *dx = fal(n);
  frand(x, n, 4), frand(r, n, 1);
  mon_gelu_bwd(n, x, r, dx);
  gc_acc a = {0};
  for (int i = 0; i < n; i++) {
    float s = x[i];
    x[i] = s + GC_H;
    mon_gelu_fwd(n, x, y);
    double jp = dotd(y, r, n);
    x[i] = s - GC_H;
    mon_gelu_fwd(n, x, y);
    double jm = dotd(y, r, n);
    x[i] = s;
    gc_add(&a, (jp - jm) / (2 * GC_H), dx[i]);
  }
  gc_check(&a, "gelu");
  /* the forward is GPT-2's tanh form: gelu(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) */
  float one = 1, g1;
  mon_gelu_fwd(1, &one, &g1);
  cr_assert_float_eq(g1, 0.5 * (1 + tanh(sqrt(2 / M_PI) * 1.044715)), 1e-6);
  free(x), free(y), free(r), free(dx);
}

Test(gradcheck, attention) {
  const int B = 2, T = 6, d = 8, H = 2, N = B * T;
  float *qkv = fal(N * 3 * d), *att = fal(B * H * T * T), *y = fal(N * d), *r = fal(N * d);
  float *dqkv = fal(N * 3 * d);
  frand(qkv, N * 3 * d, 1.5), frand(r, N * d, 1);
  mon_attention_fwd(B, T, d, H, qkv, att, y);
  /* causality: every probability row sums to 1 and is zero above the diagonal */
  for (int bh = 0; bh < B * H; bh++)
    for (int i = 0; i < T; i++) {
      double s = 0;
      for (int j = 0; j < T; j++) {
        float p = att[((size_t)bh * T + i) * T + j];
        if (j > i) cr_assert_eq(p, 0.0f);
        s += p;
      }
      cr_assert_float_eq(s, 1.0, 1e-5);
    }
  mon_attention_bwd(B, T, d, H, qkv, att, r, dqkv);
  gc_acc a[3] = {{0}};
  for (int i = 0; i < N * 3 * d; i++) {
    float s = qkv[i];
    qkv[i] = s + GC_H;
    mon_attention_fwd(B, T, d, H, qkv, NULL, y);
    double jp = dotd(y, r, N * d);
    qkv[i] = s - GC_H;
    mon_attention_fwd(B, T, d, H, qkv, NULL, y);
    double jm = dotd(y, r, N * d);
    qkv[i] = s;
    gc_add(&a[(i % (3 * d)) / d], (jp - jm) / (2 * GC_H), dqkv[i]);
  }
  gc_check(&a[0], "attention dq");
  gc_check(&a[1], "attention dk");
  gc_check(&a[2], "attention dv");
  free(qkv), free(att), free(y), free(r), free(dqkv);
}

/* Checks dx, dW (or dW1, dW2) and db of one linear layer against finite differences. */
static void check_linear(mon_linear *l, const char *what) {
  const int n = 7;
  float *x = fal((size_t)n * l->in), *y = fal((size_t)n * l->out), *r = fal((size_t)n * l->out);
  float *dx = fal((size_t)n * l->in);
  frand(x, (size_t)n * l->in, 1), frand(r, (size_t)n * l->out, 1);
  mon_linear g = *l;
  size_t nw = l->is_monarch ? 0 : (size_t)l->out * l->in;
  g.b = fal(l->out);
  if (l->is_monarch) {
    g.m.w1 = fal(mon_monarch_w1_len(&l->m));
    g.m.w2 = fal(mon_monarch_w2_len(&l->m));
  } else {
    g.w = fal(nw);
  }
  float *tt = fal((size_t)n * (mon_linear_tt_len(l) + 1));
  cr_assert_eq(mon_linear_fwd(l, n, x, y, tt), 0);
  /* the forward agrees with the library's reference product */
  float *yr = fal((size_t)n * l->out);
  if (l->is_monarch)
    mon_monarch_apply_ref(&l->m, n, x, yr);
  else
    mon_dense_apply(l->w, l->out, l->in, n, x, yr);
  for (int i = 0; i < n * l->out; i++)
    cr_assert_float_eq(y[i], yr[i] + l->b[i % l->out], 1e-4, "%s forward [%d]", what, i);
  cr_assert_eq(mon_linear_bwd(l, n, x, tt, r, dx, &g), 0);
  /* recomputing the Monarch intermediate (tt = NULL) gives the same gradients */
  if (l->is_monarch) {
    mon_linear g2 = g;
    g2.b = fal(l->out), g2.m.w1 = fal(mon_monarch_w1_len(&l->m));
    g2.m.w2 = fal(mon_monarch_w2_len(&l->m));
    float *dx2 = fal((size_t)n * l->in);
    cr_assert_eq(mon_linear_bwd(l, n, x, NULL, r, dx2, &g2), 0);
    cr_assert_eq(memcmp(dx, dx2, (size_t)n * l->in * sizeof(float)), 0);
    cr_assert_eq(memcmp(g.m.w1, g2.m.w1, mon_monarch_w1_len(&l->m) * sizeof(float)), 0);
    free(g2.b), free(g2.m.w1), free(g2.m.w2), free(dx2);
  }
  typedef struct {
    float *p, *g;
    size_t n;
    const char *name;
  } gtensor;
  gtensor t[4] = {{x, dx, (size_t)n * l->in, "dx"}, {l->b, g.b, (size_t)l->out, "db"}};
  int nt = 2;
  if (l->is_monarch) {
    t[nt++] = (gtensor){l->m.w1, g.m.w1, mon_monarch_w1_len(&l->m), "dW1 (blkdiag1)"};
    t[nt++] = (gtensor){l->m.w2, g.m.w2, mon_monarch_w2_len(&l->m), "dW2 (blkdiag2)"};
  } else {
    t[nt++] = (gtensor){l->w, g.w, nw, "dW"};
  }
  for (int k = 0; k < nt; k++) {
    gc_acc a = {0};
    for (size_t i = 0; i < t[k].n; i++) {
      float s = t[k].p[i];
      t[k].p[i] = s + GC_H;
      mon_linear_fwd(l, n, x, y, NULL);
      double jp = dotd(y, r, (size_t)n * l->out);
      t[k].p[i] = s - GC_H;
      mon_linear_fwd(l, n, x, y, NULL);
      double jm = dotd(y, r, (size_t)n * l->out);
      t[k].p[i] = s;
      gc_add(&a, (jp - jm) / (2 * GC_H), t[k].g[i]);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "%s %s", what, t[k].name);
    gc_check(&a, msg);
  }
  free(x), free(y), free(r), free(dx), free(tt), free(yr), free(g.b), free(g.w), free(g.m.w1),
      free(g.m.w2);
}

Test(gradcheck, linear_dense) {
  mon_linear l = {.out = 9, .in = 6};
  l.w = fal(54), l.b = fal(9);
  frand(l.w, 54, 1), frand(l.b, 9, 1);
  check_linear(&l, "dense");
  free(l.w), free(l.b);
}

Test(gradcheck, linear_monarch) {
  /* square divisible, a wide (out > in) and a non-divisible (padded) shape */
  int shapes[3][3] = {{16, 16, 4}, {24, 8, 2}, {10, 7, 3}};
  for (int s = 0; s < 3; s++) {
    mon_linear l = {.out = shapes[s][0], .in = shapes[s][1], .is_monarch = 1};
    cr_assert_eq(mon_monarch_create(&l.m, l.out, l.in, shapes[s][2]), 0, "%s", mon_errmsg());
    l.b = fal(l.out);
    frand(l.m.w1, mon_monarch_w1_len(&l.m), 1), frand(l.m.w2, mon_monarch_w2_len(&l.m), 1);
    frand(l.b, l.out, 1);
    char what[64];
    snprintf(what, sizeof what, "monarch (%d, %d) nb %d", l.out, l.in, shapes[s][2]);
    check_linear(&l, what);
    mon_monarch_destroy(&l.m);
    free(l.b);
  }
}

Test(gradcheck, xent) {
  const int n = 4, V = 7;
  float *lg = fal(n * V), *dl = fal(n * V);
  int32_t tgt[4] = {0, 3, 6, 2};
  double loss[4];
  frand(lg, n * V, 3);
  mon_xent(n, V, lg, tgt, 1.0f, loss, NULL, dl);
  gc_acc a = {0};
  for (int i = 0; i < n * V; i++) {
    float s = lg[i];
    double lp[4], lm[4];
    lg[i] = s + GC_H;
    mon_xent(n, V, lg, tgt, 1.0f, lp, NULL, NULL);
    lg[i] = s - GC_H;
    mon_xent(n, V, lg, tgt, 1.0f, lm, NULL, NULL);
    lg[i] = s;
    double fd = 0;
    for (int r = 0; r < n; r++) fd += (lp[r] - lm[r]) / (2 * GC_H);
    gc_add(&a, fd, dl[i]);
  }
  gc_check(&a, "cross-entropy");
  free(lg), free(dl);
}

/* ---------------------------------------------------------------- model-level checks */

static const uint8_t tiny_bytes[11] = {'\n', ' ', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'};

static void tiny_model(mon_model *m, int nblocks, uint64_t seed) {
  mon_gpt2_config c = {.vocab_size = 11,
                       .n_positions = 8,
                       .n_embd = 16,
                       .n_layer = 2,
                       .n_head = 2,
                       .n_inner = 32,
                       .monarch_nblocks = nblocks,
                       .layer_norm_epsilon = 1e-5};
  cr_assert_eq(mon_model_alloc(m, &c, tiny_bytes), 0, "%s", mon_errmsg());
  mon_model_init_random(m, seed);
  /* larger than GPT-2's 0.02 so that every term of the gradient is visible above rounding */
  mon_param p[64];
  int np = mon_model_params(m, p, 64);
  for (int i = 0; i < np; i++) {
    if (strstr(p[i].name, "ln_"))
      for (size_t j = 0; j < p[i].n; j++) p[i].data[j] += (float)(0.3 * (2 * urand() - 1));
    else
      frand(p[i].data, p[i].n, 0.5);
  }
}

static void check_model_grad(int nblocks) {
  mon_model m, g;
  tiny_model(&m, nblocks, 7);
  tiny_model(&g, nblocks, 8);
  const int B = 2, T = 8;
  int32_t tok[16], tgt[16];
  for (int i = 0; i < B * T; i++)
    tok[i] = (int32_t)(urand() * 11), tgt[i] = (int32_t)(urand() * 11);
  double loss;
  cr_assert_eq(mon_model_loss_grad(&m, tok, tgt, B, T, &loss, &g), 0, "%s", mon_errmsg());
  cr_assert(isfinite(loss));
  mon_param p[64], pg[64];
  int np = mon_model_params(&m, p, 64);
  cr_assert_eq(mon_model_params(&g, pg, 64), np);
  for (int t = 0; t < np; t++) {
    gc_acc a = {0};
    /* up to 24 coordinates per tensor, spread over it */
    size_t step = p[t].n > 24 ? p[t].n / 24 : 1;
    for (size_t i = 0; i < p[t].n; i += step) {
      float s = p[t].data[i];
      double lp, lm;
      p[t].data[i] = s + GC_H;
      cr_assert_eq(mon_model_loss_grad(&m, tok, tgt, B, T, &lp, NULL), 0);
      p[t].data[i] = s - GC_H;
      cr_assert_eq(mon_model_loss_grad(&m, tok, tgt, B, T, &lm, NULL), 0);
      p[t].data[i] = s;
      gc_add(&a, (lp - lm) / (2 * GC_H), pg[t].data[i]);
    }
    char msg[300];
    snprintf(msg, sizeof msg, "model (nblocks %d) tensor %s", nblocks, p[t].name);
    gc_check(&a, msg);
  }
  mon_model_destroy(&m), mon_model_destroy(&g);
}

Test(gradcheck, model_dense) {
  check_model_grad(0);
}
Test(gradcheck, model_monarch) {
  check_model_grad(4);
}
