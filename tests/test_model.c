/* Tests of the GPT-2 model (model/: layers, model, forward, eval, train, data).
 *
 * Gradient checks: every backward is compared with central finite differences of the float
 * forward. The objective of a layer check is J = sum_i r_i y_i (r fixed random), accumulated in
 * double. Step h = 1e-2 on O(1) inputs: the truncation error is O(h^2 |f'''|) ~ 1e-4 relative,
 * and float rounding of J (~1e-7 relative, |J| ~ 10) divided by 2h adds ~1e-5; the check is on
 * the relative L2 error over all checked coordinates, ||fd - an|| / ||an|| < 2e-2, while a
 * wrong formula (a missing term, a transposed index) gives errors of order 1. */
#include <criterion/criterion.h>

#include "model.h"
#include "layers.h"

#include <cblas.h>

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
static double urand(void) {
  return mon_u01(mon_splitmix64(&rng_state));
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
    char msg[MON_NAME_MAX + 64];
    snprintf(msg, sizeof msg, "model (nblocks %d) tensor %.*s", nblocks, MON_NAME_MAX - 1,
             p[t].name);
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

/* ---------------------------------------------------------------- checkpoints */

static char tmpdir[256];
static void rm_rf(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[1024];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      struct stat sb;
      if (!stat(p, &sb) && S_ISDIR(sb.st_mode))
        rm_rf(p);
      else
        unlink(p);
    }
  closedir(d);
  rmdir(dir);
}
static void mk_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/moncim_model_XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}
static void rm_tmpdir(void) {
  rm_rf(tmpdir);
}
static const char *tsub(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}
TestSuite(checkpoint, .init = mk_tmpdir, .fini = rm_tmpdir);

static void assert_models_equal(const mon_model *a, const mon_model *b) {
  mon_param pa[64], pb[64];
  int na = mon_model_params(a, pa, 64), nb = mon_model_params(b, pb, 64);
  cr_assert_eq(na, nb);
  for (int i = 0; i < na; i++) {
    cr_assert_str_eq(pa[i].name, pb[i].name);
    cr_assert_eq(pa[i].n, pb[i].n, "%s", pa[i].name);
    cr_assert_eq(memcmp(pa[i].data, pb[i].data, pa[i].n * sizeof(float)), 0, "%s differs",
                 pa[i].name);
  }
  cr_assert_eq(memcmp(a->vocab, b->vocab, sizeof a->vocab), 0);
  cr_assert_eq(memcmp(&a->cfg, &b->cfg, sizeof a->cfg), 0);
}

Test(checkpoint, round_trip_dense_and_monarch) {
  for (int nb = 0; nb <= 4; nb += 4) {
    mon_model m, r;
    tiny_model(&m, nb, 3);
    const char *dir = tsub(nb ? "mon" : "dense");
    cr_assert_eq(mon_model_save(&m, dir), 0, "%s", mon_errmsg());
    cr_assert_eq(mon_model_load(&r, dir), 0, "%s", mon_errmsg());
    assert_models_equal(&m, &r);
    /* HF Conv1D orientation on disk: the stored c_fc weight is W^T, shape (in, out) */
    if (!nb) {
      mon_safetensors st;
      char p[600];
      snprintf(p, sizeof p, "%s/model.safetensors", dir);
      cr_assert_eq(mon_st_open(&st, p), 0);
      const mon_tensor *t = mon_st_find(&st, "h.1.mlp.c_fc.weight");
      cr_assert_not_null(t);
      cr_assert(t->ndim == 2 && t->shape[0] == 16 && t->shape[1] == 32);
      const mon_linear *fc = mon_model_linear(&m, 1, MON_LIN_FC);
      float v;
      memcpy(&v, (const char *)t->data + (3 * 32 + 5) * sizeof(float), sizeof v);
      cr_assert_eq(v, fc->w[5 * 16 + 3]); /* stored[in=3][out=5] == W[out=5][in=3] */
      mon_st_close(&st);
    }
    mon_model_destroy(&m), mon_model_destroy(&r);
  }
}

/* Writes DIR/model.safetensors from m's tensors, with one tensor left out (skip) or given a
 * different leading dimension (grow), and DIR/config.json from cfg. */
static void write_variant(const mon_model *m, const mon_gpt2_config *cfg, const char *dir,
                          const char *skip, const char *grow) {
  cr_assert_eq(mon_model_save(m, dir), 0, "%s", mon_errmsg());
  mon_param p[64];
  int n = mon_model_params(m, p, 64);
  mon_st_writer *w = mon_st_writer_create();
  float *big = NULL;
  for (int i = 0; i < n; i++) {
    if (skip && !strcmp(p[i].name, skip)) continue;
    int64_t sh[3] = {p[i].shape[0], p[i].shape[1], p[i].shape[2]};
    const float *data = p[i].data;
    if (p[i].conv1d) sh[0] = p[i].shape[1], sh[1] = p[i].shape[0];
    if (grow && !strcmp(p[i].name, grow)) {
      size_t row = p[i].n / (size_t)sh[0];
      big = calloc(p[i].n + row, sizeof(float));
      memcpy(big, data, p[i].n * sizeof(float));
      sh[0] += 1;
      data = big;
    }
    cr_assert_eq(mon_st_writer_add(w, p[i].name, p[i].ndim, sh, data), 0);
  }
  char vocab[64] = "10,32,97,98,99,100,101,102,103,104,105";
  cr_assert_eq(mon_st_writer_meta(w, "moncim_vocab", vocab), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  cr_assert_eq(mon_st_writer_write(w, path), 0, "%s", mon_errmsg());
  mon_st_writer_destroy(w);
  free(big);
  snprintf(path, sizeof path, "%s/config.json", dir);
  cr_assert_eq(mon_gpt2_config_write(cfg, path), 0);
}

static void expect_reject(const char *dir, const char *const *needles, int n) {
  mon_model r;
  cr_assert_eq(mon_model_load(&r, dir), -1, "a bad checkpoint in %s was accepted", dir);
  const char *msg = mon_errmsg();
  for (int i = 0; i < n; i++)
    cr_assert_not_null(strstr(msg, needles[i]), "message \"%s\" lacks \"%s\"", msg, needles[i]);
}

Test(checkpoint, rejects_missing_tensor) {
  mon_model m;
  tiny_model(&m, 0, 3);
  write_variant(&m, &m.cfg, tsub("a"), "h.1.attn.c_proj.bias", NULL);
  expect_reject(tsub("a"),
                (const char *[]){"missing tensor", "h.1.attn.c_proj.bias", "model.safetensors"}, 3);
  mon_model_destroy(&m);
}

Test(checkpoint, rejects_wrong_shape) {
  mon_model m;
  tiny_model(&m, 4, 3);
  write_variant(&m, &m.cfg, tsub("b"), NULL, "h.0.mlp.c_fc.blkdiag2");
  expect_reject(tsub("b"), (const char *[]){"h.0.mlp.c_fc.blkdiag2", "shape", "monarch_nblocks"},
                3);
  write_variant(&m, &m.cfg, tsub("c"), NULL, "wpe.weight");
  expect_reject(tsub("c"), (const char *[]){"wpe.weight", "shape (9, 16)", "expected (8, 16)"}, 3);
  mon_model_destroy(&m);
}

Test(checkpoint, rejects_config_disagreeing) {
  mon_model m;
  tiny_model(&m, 0, 3);
  mon_gpt2_config c = m.cfg;
  c.n_inner = 48; /* the file has (16, 32) MLP weights */
  write_variant(&m, &c, tsub("d"), NULL, NULL);
  expect_reject(tsub("d"), (const char *[]){"h.0.mlp.c_fc.weight", "n_inner 48", "disagrees"}, 3);
  c = m.cfg;
  c.monarch_nblocks = 4; /* dense tensors under a Monarch config */
  write_variant(&m, &c, tsub("e"), NULL, NULL);
  expect_reject(tsub("e"),
                (const char *[]){"missing tensor 'h.0.attn.c_attn.blkdiag1'", "monarch_nblocks"},
                2);
  c = m.cfg;
  c.n_layer = 1; /* the file holds a second block */
  write_variant(&m, &c, tsub("f"), NULL, NULL);
  expect_reject(tsub("f"), (const char *[]){"unexpected tensor 'h.1.", "n_layer 1"}, 2);
  c = m.cfg;
  c.vocab_size = 10; /* 11 vocabulary bytes recorded */
  write_variant(&m, &c, tsub("g"), NULL, NULL);
  expect_reject(tsub("g"), (const char *[]){"moncim_vocab", "vocab_size is 10"}, 2);
  mon_model_destroy(&m);
}

Test(checkpoint, rejects_corrupted_file) {
  mon_model m;
  tiny_model(&m, 0, 3);
  cr_assert_eq(mon_model_save(&m, tsub("h")), 0);
  char p[600];
  snprintf(p, sizeof p, "%s/model.safetensors", tsub("h"));
  FILE *f = fopen(p, "r+b");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fclose(f);
  cr_assert_eq(truncate(p, len - 100), 0); /* data area cut short */
  expect_reject(tsub("h"), (const char *[]){"model.safetensors"}, 1);
  /* a NaN weight */
  cr_assert_eq(mon_model_save(&m, tsub("i")), 0);
  m.lnf_b[3] = NAN;
  write_variant(&m, &m.cfg, tsub("i"), NULL, NULL);
  expect_reject(tsub("i"), (const char *[]){"ln_f.bias", "not finite"}, 2);
  mon_model_destroy(&m);
}

/* ---------------------------------------------------------------- eval, hook, determinism */

static uint8_t *tiny_text(size_t n) {
  uint8_t *t = malloc(n);
  for (size_t i = 0; i < n; i++) t[i] = tiny_bytes[(size_t)(urand() * 11)];
  return t;
}

typedef struct {
  int calls[2][MON_LIN_KINDS];
  int64_t last_row0;
  int bad_row0;
} hook_rec;

static int float_hook(void *ctx, int layer, mon_lin_kind kind, const mon_linear *lin, int64_t row0,
                      int batch, const float *x, float *y) {
  hook_rec *h = ctx;
  h->calls[layer][kind]++;
  if (row0 % 8) h->bad_row0 = 1; /* windows of the tiny context (8) start at multiples of 8 */
  h->last_row0 = row0;
  if (lin->is_monarch) return mon_monarch_apply(&lin->m, batch, x, y);
  mon_dense_apply(lin->w, lin->out, lin->in, batch, x, y);
  return 0;
}

static int failing_hook(void *ctx, int layer, mon_lin_kind kind, const mon_linear *lin,
                        int64_t row0, int batch, const float *x, float *y) {
  (void)ctx, (void)layer, (void)kind, (void)lin, (void)row0, (void)batch, (void)x, (void)y;
  return mon_fail("simulated device failure");
}

Test(eval, hook_with_float_products_is_identical) {
  for (int nb = 0; nb <= 4; nb += 4) {
    mon_model m;
    tiny_model(&m, nb, 5);
    size_t n = 8 * 20 + 1;
    uint8_t *t = tiny_text(n);
    int32_t p1[150], p2[150];
    mon_eval_opts o = {.positions = 150, .batch = 3, .pred = p1};
    mon_eval_result a, b;
    cr_assert_eq(mon_model_eval(&m, t, n, &o, &a), 0, "%s", mon_errmsg());
    hook_rec h = {0};
    o.hook = float_hook, o.hook_ctx = &h, o.pred = p2;
    cr_assert_eq(mon_model_eval(&m, t, n, &o, &b), 0, "%s", mon_errmsg());
    cr_assert_eq(a.bpc, b.bpc);
    cr_assert_eq(a.top1, b.top1);
    cr_assert_eq(memcmp(p1, p2, sizeof p1), 0);
    cr_assert_eq(a.positions, 150);
    /* 19 windows (150 positions / 8) in chunks of 3: 7 calls per layer and kind */
    for (int l = 0; l < 2; l++)
      for (int k = 0; k < MON_LIN_KINDS; k++) cr_assert_eq(h.calls[l][k], 7);
    cr_assert_eq(h.bad_row0, 0);
    cr_assert_eq(h.last_row0, 18 * 8);
    /* the mean of -log2 p over positions is bounded by top-1: bpc >= 0, top1 in [0, 1] */
    cr_assert(a.bpc > 0 && a.top1 >= 0 && a.top1 <= 1);
    o.hook = failing_hook;
    cr_assert_eq(mon_model_eval(&m, t, n, &o, &b), -1);
    cr_assert_not_null(strstr(mon_errmsg(), "simulated device failure"));
    cr_assert_not_null(strstr(mon_errmsg(), "layer 0 qkv"));
    free(t);
    mon_model_destroy(&m);
  }
}

Test(eval, chunking_and_threads_do_not_change_results) {
  mon_model m;
  tiny_model(&m, 4, 9);
  size_t n = 8 * 16 + 1;
  uint8_t *t = tiny_text(n);
  mon_eval_result r[4];
  int32_t p[4][128];
  int threads[4] = {1, 2, 1, 2};
  int max = omp_get_max_threads();
  int bmax = openblas_get_num_threads();
  for (int i = 0; i < 4; i++) {
    omp_set_num_threads(threads[i]);
    openblas_set_num_threads(threads[i]);
    mon_eval_opts o = {.positions = 128, .batch = i < 2 ? 4 : 16, .pred = p[i]};
    cr_assert_eq(mon_model_eval(&m, t, n, &o, &r[i]), 0, "%s", mon_errmsg());
  }
  omp_set_num_threads(max);
  openblas_set_num_threads(bmax);
  /* bitwise equal across thread counts for a given chunking */
  cr_assert_eq(r[0].bpc, r[1].bpc);
  cr_assert_eq(r[2].bpc, r[3].bpc);
  cr_assert_eq(memcmp(p[0], p[1], sizeof p[0]), 0);
  /* different chunkings agree to float rounding */
  cr_assert_float_eq(r[0].bpc, r[2].bpc, 1e-5);
  free(t);
  mon_model_destroy(&m);
}

Test(eval, rejects_bytes_outside_vocabulary) {
  mon_model m;
  tiny_model(&m, 0, 5);
  uint8_t t[17] = "abcdefghZbcdefgh";
  mon_eval_opts o = {.positions = 16};
  mon_eval_result r;
  cr_assert_eq(mon_model_eval(&m, t, 17, &o, &r), -1);
  cr_assert_not_null(strstr(mon_errmsg(), "byte 90"));
  o.positions = 100; /* more positions than the text holds */
  cr_assert_eq(mon_model_eval(&m, (const uint8_t *)"abcabcabc", 9, &o, &r), -1);
  mon_model_destroy(&m);
}

/* ---------------------------------------------------------------- training, d2s */

Test(train, deterministic_and_learns) {
  /* a periodic text: a model with context 8 can predict it almost perfectly */
  size_t n = 4000;
  uint8_t *t = malloc(n);
  const char *pat = "abcde fgh\nigfedcba\n";
  for (size_t i = 0; i < n; i++) t[i] = (uint8_t)pat[i % strlen(pat)];
  mon_model a, b;
  for (int k = 0; k < 2; k++) {
    mon_model *m = k ? &b : &a;
    mon_gpt2_config c = {.vocab_size = 11,
                         .n_positions = 8,
                         .n_embd = 16,
                         .n_layer = 2,
                         .n_head = 2,
                         .n_inner = 32,
                         .monarch_nblocks = 0,
                         .layer_norm_epsilon = 1e-5};
    cr_assert_eq(mon_model_alloc(m, &c, tiny_bytes), 0);
    mon_model_init_random(m, 42);
  }
  mon_eval_opts eo = {.positions = 400};
  mon_eval_result r0, r1;
  cr_assert_eq(mon_model_eval(&a, t, n, &eo, &r0), 0);
  mon_train_opts o;
  mon_train_opts_default(&o);
  o.steps = 150, o.batch = 8, o.warmup = 10, o.lr = 1e-2, o.min_lr = 1e-3, o.seed = 3;
  double la, lb;
  cr_assert_eq(mon_model_train(&a, t, n, &o, &la), 0, "%s", mon_errmsg());
  cr_assert_eq(mon_model_train(&b, t, n, &o, &lb), 0, "%s", mon_errmsg());
  cr_assert_eq(la, lb);
  assert_models_equal(&a, &b);
  cr_assert_eq(mon_model_eval(&a, t, n, &eo, &r1), 0);
  /* from ~log2(11) = 3.46 bits to well under 1 bit per character */
  cr_assert(r0.bpc > 3.0, "untrained %.3f", r0.bpc);
  cr_assert(r1.bpc < 0.5, "trained %.3f bits/char (from %.3f)", r1.bpc, r0.bpc);
  free(t);
  mon_model_destroy(&a), mon_model_destroy(&b);
}

Test(train, d2s_of_a_monarch_matrix_is_exact) {
  /* a dense model whose weights are Monarch matrices projects back onto the same products */
  mon_model mon, den;
  tiny_model(&mon, 4, 11);
  mon_gpt2_config c = mon.cfg;
  c.monarch_nblocks = 0;
  cr_assert_eq(mon_model_alloc(&den, &c, tiny_bytes), 0);
  mon_param pm[64], pd[64];
  int nm = mon_model_params(&mon, pm, 64), nd = mon_model_params(&den, pd, 64);
  for (int i = 0, j = 0; i < nm; i++) { /* copy every non-Monarch tensor by name */
    if (strstr(pm[i].name, "blkdiag")) continue;
    for (j = 0; j < nd && strcmp(pd[j].name, pm[i].name); j++) {
    }
    cr_assert(j < nd, "%s", pm[i].name);
    memcpy(pd[j].data, pm[i].data, pm[i].n * sizeof(float));
  }
  for (int l = 0; l < 2; l++)
    for (int k = 0; k < MON_LIN_KINDS; k++)
      mon_monarch_to_dense(&mon_model_linear(&mon, l, k)->m, mon_model_linear(&den, l, k)->w);
  double rel;
  cr_assert_eq(mon_model_to_monarch(&den, 4, &rel), 0, "%s", mon_errmsg());
  cr_assert_eq(den.cfg.monarch_nblocks, 4);
  cr_assert(rel < 1e-5, "projection error %g", rel);
  size_t n = 8 * 10 + 1;
  uint8_t *t = tiny_text(n);
  mon_eval_opts o = {.positions = 80};
  mon_eval_result a, b;
  cr_assert_eq(mon_model_eval(&mon, t, n, &o, &a), 0);
  cr_assert_eq(mon_model_eval(&den, t, n, &o, &b), 0);
  cr_assert_float_eq(a.bpc, b.bpc, 1e-4);
  cr_assert_eq(mon_model_to_monarch(&den, 4, NULL), -1); /* already Monarch */
  free(t);
  mon_model_destroy(&mon), mon_model_destroy(&den);
}

/* ---------------------------------------------------------------- data and zoo */

static void *find_bytes(const uint8_t *h, size_t hn, const char *needle) {
  size_t nn = strlen(needle);
  for (size_t i = 0; i + nn <= hn; i++)
    if (!memcmp(h + i, needle, nn)) return (void *)(h + i);
  return NULL;
}

Test(data, kjv_split) {
  uint8_t *tr, *ev;
  size_t ntr, nev;
  cr_assert_eq(mon_kjv_text(&tr, &ntr, &ev, &nev), 0, "%s", mon_errmsg());
  const char *gen = "In the beginning God created the heaven and the earth.\n";
  const char *ruth = "Now it came to pass in the days when the judges ruled";
  cr_assert_eq(memcmp(tr, gen, strlen(gen)), 0, "training text starts with Genesis 1:1");
  cr_assert_eq(memcmp(ev, ruth, strlen(ruth)), 0, "held-out text starts with Ruth 1:1");
  /* whole held-out books: their verses are absent from the training text */
  cr_assert_null(find_bytes(tr, ntr, "The beginning of the gospel of Jesus Christ, the Son"));
  cr_assert_null(find_bytes(tr, ntr, "Now the word of the LORD came unto Jonah the son of"));
  cr_assert_not_null(find_bytes(ev, nev, "The beginning of the gospel of Jesus Christ, the Son"));
  /* no verse references left, one line per verse: 31,102 verses in all */
  size_t lines = 0;
  for (size_t i = 0; i < ntr; i++) lines += tr[i] == '\n';
  for (size_t i = 0; i < nev; i++) lines += ev[i] == '\n';
  cr_assert_eq(lines, 31102);
  cr_assert_null(find_bytes(tr, ntr, "Ge1:1"));
  free(tr), free(ev);
}

static int read_recorded(const char *dir, const char *key, double *v) {
  char p[1100];
  snprintf(p, sizeof p, "%s/eval.json", dir);
  FILE *f = fopen(p, "rb");
  if (!f) return -1;
  char buf[16384];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = strstr(buf, key);
  if (!s) return -1;
  s = strstr(s, "\"bits_per_char\":");
  if (!s) return -1;
  *v = strtod(s + strlen("\"bits_per_char\":"), NULL);
  return 0;
}

/* Every zoo model evaluates to the bits/byte recorded at its creation on the fixed slice (the
 * first 1024 held-out positions: characters, or GPT-2 tokens for kjv-bpe-*), to 1e-4. The
 * token-level models load through the Hugging Face path (config.json, model.safetensors,
 * vocab.json, merges.txt); their weights are not committed, so they are checked where
 * `make models` has built them. */
Test(zoo, recorded_slice_bpc, .timeout = 300) {
  const char *names[] = {"kjv-dense",     "kjv-nb4",     "kjv-nb8",     "kjv-nb16",
                         "kjv-bpe-dense", "kjv-bpe-nb4", "kjv-bpe-nb8", "kjv-bpe-nb16"};
  uint8_t *tr, *ev;
  size_t ntr, nev;
  cr_assert_eq(mon_kjv_text(&tr, &ntr, &ev, &nev), 0, "%s", mon_errmsg());
  int found = 0;
  for (int i = 0; i < 8; i++) {
    char dir[1024], w[1100];
    snprintf(dir, sizeof dir, "%s/models/%s", MONCIM_SOURCE_DIR, names[i]);
    snprintf(w, sizeof w, "%s/model.safetensors", dir);
    double rec;
    if (read_recorded(dir, "\"slice\"", &rec) || (i >= 4 && access(w, R_OK))) continue;
    found++;
    mon_model m;
    cr_assert_eq(mon_model_load(&m, dir), 0, "%s", mon_errmsg());
    mon_eval_opts o = {.positions = 1024};
    mon_eval_result r;
    cr_assert_eq(mon_model_eval(&m, ev, nev, &o, &r), 0, "%s", mon_errmsg());
    cr_assert_float_eq(r.bpc, rec, 1e-4, "%s: %.6f bits/byte, recorded %.6f", names[i], r.bpc, rec);
    mon_model_destroy(&m);
  }
  cr_assert(found >= 1, "no zoo model with an eval.json under %s/models", MONCIM_SOURCE_DIR);
  free(tr), free(ev);
}

Test(data, missing_bible_program_is_a_clear_error) {
  char dir[] = "/tmp/moncim_nocache_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  setenv("MONCIM_CACHE_DIR", dir, 1); /* empty cache: the text must come from `bible` */
  setenv("PATH", dir, 1);             /* ... which is not on the PATH */
  uint8_t *tr, *ev;
  size_t ntr, nev;
  cr_assert_eq(mon_kjv_text(&tr, &ntr, &ev, &nev), -1);
  cr_assert_not_null(strstr(mon_errmsg(), "install bible-kjv: make setup"), "%s", mon_errmsg());
  rmdir(dir);
}

/* The zoo's accuracy targets, on the recorded held-out evaluation (16,384 positions, ~1 s per
 * model): each model reproduces its recorded value, the dense model is at most 2.0 bits/char and
 * the nblocks-4 model after fine-tuning within 0.25 bits/char of it. */
Test(zoo, heldout_targets, .timeout = 300) {
  const char *names[] = {"kjv-dense", "kjv-nb4", "kjv-nb8", "kjv-nb16"};
  double bpc[4];
  uint8_t *tr, *ev;
  size_t ntr, nev;
  cr_assert_eq(mon_kjv_text(&tr, &ntr, &ev, &nev), 0, "%s", mon_errmsg());
  for (int i = 0; i < 4; i++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/%s", MONCIM_SOURCE_DIR, names[i]);
    double rec;
    cr_assert_eq(read_recorded(dir, "\"heldout\"", &rec), 0, "%s/eval.json", dir);
    mon_model m;
    cr_assert_eq(mon_model_load(&m, dir), 0, "%s", mon_errmsg());
    cr_assert_eq(m.cfg.monarch_nblocks, i ? 2 << i : 0, "%s", names[i]);
    mon_eval_opts o = {.positions = 16384};
    mon_eval_result r;
    cr_assert_eq(mon_model_eval(&m, ev, nev, &o, &r), 0, "%s", mon_errmsg());
    cr_assert_float_eq(r.bpc, rec, 1e-4, "%s: %.6f, recorded %.6f", names[i], r.bpc, rec);
    bpc[i] = r.bpc;
    mon_model_destroy(&m);
  }
  cr_assert(bpc[0] <= 2.0, "dense %.4f bits/char", bpc[0]);
  cr_assert(bpc[1] <= bpc[0] + 0.25, "nblocks 4: %.4f vs dense %.4f", bpc[1], bpc[0]);
  free(tr), free(ev);
}

/* ---------------------------------------------------------------- quantized attention */

Test(eval, quantize_rows_is_a_symmetric_grid_per_row) {
  enum { N = 3, L = 5 };
  float x[N * L] = {0.3f, -1.2f, 0.05f, 0.9f, -0.41f, 0, 0, 0, 0, 0, 7.0f, 1.0f, -3.5f, 2.2f, 0.1f};
  float q[N * L];
  memcpy(q, x, sizeof x);
  mon_quantize_rows(q, N, L, L, 4); /* 4 bits: levels -7..7 times max|row| / 7 */
  for (int i = 0; i < N; i++) {
    float amax = 0;
    for (int j = 0; j < L; j++) amax = fmaxf(amax, fabsf(x[i * L + j]));
    for (int j = 0; j < L; j++) {
      if (amax == 0) {
        cr_assert_eq(q[i * L + j], 0.0f);
        continue;
      }
      float step = amax / 7, k = q[i * L + j] / step;
      cr_assert_float_eq(k, nearbyintf(k), 1e-4, "row %d col %d not on the grid", i, j);
      cr_assert(fabsf(q[i * L + j] - x[i * L + j]) <= step / 2 + 1e-6f, "row %d col %d", i, j);
    }
    /* the largest magnitude is exact (it defines the scale) */
    for (int j = 0; j < L; j++)
      if (fabsf(x[i * L + j]) == amax) cr_assert_float_eq(q[i * L + j], x[i * L + j], 1e-6);
  }
}

Test(eval, attention_bits_converge_to_float) {
  mon_model m;
  tiny_model(&m, 4, 11);
  size_t n = 8 * 20 + 1;
  uint8_t *t = tiny_text(n);
  mon_eval_opts o = {.positions = 150, .batch = 3};
  mon_eval_result f, q16, q2;
  cr_assert_eq(mon_model_eval(&m, t, n, &o, &f), 0, "%s", mon_errmsg());
  o.attn_bits = 16;
  cr_assert_eq(mon_model_eval(&m, t, n, &o, &q16), 0, "%s", mon_errmsg());
  o.attn_bits = 2;
  cr_assert_eq(mon_model_eval(&m, t, n, &o, &q2), 0, "%s", mon_errmsg());
  /* 16-bit operands: relative rounding 2^-15 per operand, far below the bpc resolution checked */
  cr_assert_float_eq(q16.bpc, f.bpc, 1e-3, "16-bit attention %.6f vs float %.6f", q16.bpc, f.bpc);
  cr_assert(fabs(q2.bpc - f.bpc) > fabs(q16.bpc - f.bpc), "2-bit attention changes nothing");
  o.attn_bits = 1;
  cr_assert_eq(mon_model_eval(&m, t, n, &o, &q2), -1);
  cr_assert_not_null(strstr(mon_errmsg(), "attn_bits"));
  free(t);
  mon_model_destroy(&m);
}
