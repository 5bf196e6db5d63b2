/* GPT-2 layer kernels, forward and backward (see layers.h for the conventions). */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- LayerNorm */

void mon_layernorm_fwd(int n, int d, float eps, const float *x, const float *g, const float *b,
                       float *y, float *mean, float *rstd) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * d;
    float *yi = y + (size_t)i * d;
    double s = 0, ss = 0;
    for (int j = 0; j < d; j++) s += xi[j];
    double mu = s / d;
    for (int j = 0; j < d; j++) {
      double c = xi[j] - mu;
      ss += c * c;
    }
    float rs = (float)(1.0 / sqrt(ss / d + eps));
    float m = (float)mu;
    for (int j = 0; j < d; j++) yi[j] = (xi[j] - m) * rs * g[j] + b[j];
    if (mean) mean[i] = m;
    if (rstd) rstd[i] = rs;
  }
}

void mon_layernorm_bwd(int n, int d, const float *x, const float *g, const float *mean,
                       const float *rstd, const float *dy, float *dx, float *dg, float *db) {
  /* dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * g. */
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *xi = x + (size_t)i * d, *dyi = dy + (size_t)i * d;
    float *dxi = dx + (size_t)i * d;
    float m = mean[i], rs = rstd[i];
    double a = 0, c = 0;
    for (int j = 0; j < d; j++) {
      float xh = (xi[j] - m) * rs, dxh = dyi[j] * g[j];
      a += dxh;
      c += (double)dxh * xh;
    }
    float ma = (float)(a / d), mc = (float)(c / d);
    for (int j = 0; j < d; j++) {
      float xh = (xi[j] - m) * rs;
      dxi[j] = rs * (dyi[j] * g[j] - ma - xh * mc);
    }
  }
  /* parameter gradients: columns in parallel, rows summed in order */
#pragma omp parallel for schedule(static)
  for (int j = 0; j < d; j++) {
    float sg = 0, sb = 0;
    for (int i = 0; i < n; i++) {
      float dyv = dy[(size_t)i * d + j];
      sg += dyv * (x[(size_t)i * d + j] - mean[i]) * rstd[i];
      sb += dyv;
    }
    dg[j] += sg;
    db[j] += sb;
  }
}

/* ---------------------------------------------------------------- GELU */

#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

/* tanh(u) = 1 - 2 / (exp(2u) + 1): glibc's expf is several times faster than its tanhf, and the
 * form saturates correctly (exp overflow to inf gives 1, underflow to 0 gives -1). */
static inline float fast_tanh(float u) {
  return 1.0f - 2.0f / (expf(2.0f * u) + 1.0f);
}

void mon_gelu_fwd(size_t n, const float *x, float *y) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    y[i] = 0.5f * v * (1.0f + fast_tanh(GELU_C * (v + 0.044715f * v * v * v)));
  }
}

void mon_gelu_bwd(size_t n, const float *x, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    float u = GELU_C * (v + 0.044715f * v * v * v);
    float t = fast_tanh(u);
    float du = GELU_C * (1.0f + 3.0f * 0.044715f * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

/* ---------------------------------------------------------------- attention */

int mon_attention_fwd(int B, int T, int d, int H, const float *qkv, float *att, float *y) {
  const int hd = d / H, ld = 3 * d;
  const float scale = 1.0f / sqrtf((float)hd);
  const int nth = omp_get_max_threads();
  float *scratch = malloc((size_t)nth * T * sizeof(float)); /* one score row per thread */
  if (!scratch) return mon_fail("attention: out of memory for %d x %d scores", nth, T);
#pragma omp parallel num_threads(nth)
  {
    float *prow = scratch + (size_t)omp_get_thread_num() * T;
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
      int b = bh / H, h = bh % H;
      const float *base = qkv + (size_t)b * T * ld;
      for (int i = 0; i < T; i++) {
        const float *q = base + (size_t)i * ld + h * hd;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
          const float *k = base + (size_t)j * ld + d + h * hd;
          float s = 0;
          for (int c = 0; c < hd; c++) s += q[c] * k[c];
          s *= scale;
          prow[j] = s;
          if (s > mx) mx = s;
        }
        float sum = 0;
        for (int j = 0; j <= i; j++) {
          prow[j] = expf(prow[j] - mx);
          sum += prow[j];
        }
        float inv = 1.0f / sum;
        float *yi = y + ((size_t)b * T + i) * d + h * hd;
        for (int c = 0; c < hd; c++) yi[c] = 0;
        for (int j = 0; j <= i; j++) {
          float p = prow[j] * inv;
          prow[j] = p;
          const float *v = base + (size_t)j * ld + 2 * d + h * hd;
          for (int c = 0; c < hd; c++) yi[c] += p * v[c];
        }
        if (att) {
          float *ai = att + ((size_t)bh * T + i) * T;
          memcpy(ai, prow, (size_t)(i + 1) * sizeof(float));
          memset(ai + i + 1, 0, (size_t)(T - i - 1) * sizeof(float));
        }
      }
    }
  }
  free(scratch);
  return 0;
}

int mon_attention_bwd(int B, int T, int d, int H, const float *qkv, const float *att,
                      const float *dy, float *dqkv) {
  const int hd = d / H, ld = 3 * d;
  const float scale = 1.0f / sqrtf((float)hd);
  const int nth = omp_get_max_threads();
  float *scratch = malloc((size_t)nth * T * sizeof(float)); /* one score row per thread */
  if (!scratch) return mon_fail("attention: out of memory for %d x %d scores", nth, T);
#pragma omp parallel num_threads(nth)
  {
    float *ds = scratch + (size_t)omp_get_thread_num() * T;
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
      int b = bh / H, h = bh % H;
      const float *base = qkv + (size_t)b * T * ld;
      float *dbase = dqkv + (size_t)b * T * ld;
      for (int i = 0; i < T; i++) { /* this (b, h) owns its columns of dq, dk, dv */
        float *r = dbase + (size_t)i * ld + h * hd;
        memset(r, 0, (size_t)hd * sizeof(float));
        memset(r + d, 0, (size_t)hd * sizeof(float));
        memset(r + 2 * d, 0, (size_t)hd * sizeof(float));
      }
      for (int i = 0; i < T; i++) {
        const float *ai = att + ((size_t)bh * T + i) * T;
        const float *dyi = dy + ((size_t)b * T + i) * d + h * hd;
        /* dP[j] = dy_i . v_j; dS = P (dP - sum P dP) */
        float dot = 0;
        for (int j = 0; j <= i; j++) {
          const float *v = base + (size_t)j * ld + 2 * d + h * hd;
          float s = 0;
          for (int c = 0; c < hd; c++) s += dyi[c] * v[c];
          ds[j] = s;
          dot += s * ai[j];
        }
        const float *restrict q = base + (size_t)i * ld + h * hd;
        float *restrict dq = dbase + (size_t)i * ld + h * hd;
        for (int j = 0; j <= i; j++) {
          float g = ai[j] * (ds[j] - dot) * scale;
          const float *restrict k = base + (size_t)j * ld + d + h * hd;
          float *restrict dk = dbase + (size_t)j * ld + d + h * hd;
          float *restrict dv = dbase + (size_t)j * ld + 2 * d + h * hd;
          const float a = ai[j];
          for (int c = 0; c < hd; c++) dq[c] += g * k[c];
          for (int c = 0; c < hd; c++) dk[c] += g * q[c];
          for (int c = 0; c < hd; c++) dv[c] += a * dyi[c];
        }
      }
    }
  }
  free(scratch);
  return 0;
}

/* ---------------------------------------------------------------- linear */

size_t mon_linear_tt_len(const mon_linear *l) {
  return l->is_monarch ? (size_t)l->m.k * l->m.q : 0;
}

static void add_bias(int n, int out, const float *b, float *y) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < out; j++) y[(size_t)i * out + j] += b[j];
}

/* Monarch stage 1 + permutation: tt (n, l*r) with tt[ll*r + rr] = t[rr*l + ll]. */
static void monarch_stage1(const mon_monarch *m, int n, const float *x, float *t, float *tt) {
  const int k = m->k, q = m->q, p = m->p, l = m->l, r = m->r;
  const size_t kq = (size_t)k * q;
  /* blocks in parallel, each one single-threaded product (mon_blas_serial) */
#pragma omp parallel for schedule(static) default(none) shared(m, x, t, k, p, q, kq, n)
  for (int kk = 0; kk < k; kk++) {
    int kin = m->in - kk * p;
    if (kin > p) kin = p;
    if (kin <= 0) {
      for (int b = 0; b < n; b++) memset(t + b * kq + (size_t)kk * q, 0, (size_t)q * sizeof(float));
      continue;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, q, kin, 1.0f, x + (size_t)kk * p, m->in,
                m->w1 + (size_t)kk * q * p, p, 0.0f, t + (size_t)kk * q, (int)kq);
  }
#pragma omp parallel for schedule(static)
  for (int b = 0; b < n; b++) {
    const float *tb = t + b * kq;
    float *ttb = tt + b * kq;
    for (int rr = 0; rr < r; rr++)
      for (int ll = 0; ll < l; ll++) ttb[(size_t)ll * r + rr] = tb[(size_t)rr * l + ll];
  }
}

int mon_linear_fwd(const mon_linear *l, int n, const float *x, float *y, float *tt) {
  mon_blas_serial();
  if (!l->is_monarch) {
    mon_dense_apply(l->w, l->out, l->in, n, x, y);
  } else {
    const mon_monarch *m = &l->m;
    const size_t kq = (size_t)m->k * m->q, ls = (size_t)m->l * m->s;
    float *t = malloc((size_t)n * kq * sizeof(float));
    float *ttl = tt ? tt : malloc((size_t)n * kq * sizeof(float));
    float *y2 = malloc((size_t)n * ls * sizeof(float));
    if (!t || !ttl || !y2) {
      free(t), free(y2);
      if (!tt) free(ttl);
      return mon_fail("linear: out of memory for %d rows", n);
    }
    monarch_stage1(m, n, x, t, ttl);
#pragma omp parallel for schedule(static) default(none) shared(m, ttl, y2, kq, ls, n)
    for (int ll = 0; ll < m->l; ll++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m->s, m->r, 1.0f,
                  ttl + (size_t)ll * m->r, (int)kq, m->w2 + (size_t)ll * m->s * m->r, m->r, 0.0f,
                  y2 + (size_t)ll * m->s, (int)ls);
    const int L = m->l, S = m->s, out = l->out;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++)
      for (int ss = 0; ss < S; ss++)
        for (int ll = 0; ll < L; ll++) {
          int o = ss * L + ll;
          if (o < out) y[(size_t)b * out + o] = y2[b * ls + (size_t)ll * S + ss];
        }
    free(t), free(y2);
    if (!tt) free(ttl);
  }
  add_bias(n, l->out, l->b, y);
  return 0;
}

/* db[j] += sum_i dy[i][j]: column panels of 64 in parallel, rows summed in order per column. */
static void bias_grad(int n, int out, const float *dy, float *db) {
  const int np = (out + 63) / 64;
#pragma omp parallel for schedule(static)
  for (int pnl = 0; pnl < np; pnl++) {
    float acc[64] = {0};
    const int j0 = pnl * 64, w = out - j0 < 64 ? out - j0 : 64;
    for (int i = 0; i < n; i++) {
      const float *r = dy + (size_t)i * out + j0;
      for (int j = 0; j < w; j++) acc[j] += r[j];
    }
    for (int j = 0; j < w; j++) db[j0 + j] += acc[j];
  }
}

int mon_linear_bwd(const mon_linear *l, int n, const float *x, const float *tt, const float *dy,
                   float *dx, mon_linear *grad) {
  const int out = l->out, in = l->in;
  mon_blas_serial();
  bias_grad(n, out, dy, grad->b);
  if (!l->is_monarch) {
    /* dW (out, in) += dY^T X; dX = dY W */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f,
                grad->w, in);
    if (dx)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, l->w, in,
                  0.0f, dx, in);
    return 0;
  }
  const mon_monarch *m = &l->m;
  const int k = m->k, q = m->q, p = m->p, L = m->l, S = m->s, r = m->r;
  const size_t kq = (size_t)k * q, ls = (size_t)L * S;
  float *dy2 = malloc((size_t)n * ls * sizeof(float));
  float *dtt = malloc((size_t)n * kq * sizeof(float));
  float *dt = malloc((size_t)n * kq * sizeof(float));
  float *ttr = NULL, *t = NULL;
  if (!tt) {
    ttr = malloc((size_t)n * kq * sizeof(float));
    t = malloc((size_t)n * kq * sizeof(float));
  }
  if (!dy2 || !dtt || !dt || (!tt && (!ttr || !t))) {
    free(dy2), free(dtt), free(dt), free(ttr), free(t);
    return mon_fail("linear: out of memory for the Monarch backward of %d rows", n);
  }
  if (!tt) {
    monarch_stage1(m, n, x, t, ttr);
    tt = ttr;
  }
  /* dy2[ll*S + ss] = dy[ss*L + ll] (zero for padded outputs) */
#pragma omp parallel for schedule(static)
  for (int b = 0; b < n; b++)
    for (int ll = 0; ll < L; ll++)
      for (int ss = 0; ss < S; ss++) {
        int o = ss * L + ll;
        dy2[b * ls + (size_t)ll * S + ss] = o < out ? dy[(size_t)b * out + o] : 0.0f;
      }
  for (int ll = 0; ll < L; ll++) {
    /* dW2[ll] (S, r) += dy2_ll^T (S, n) tt_ll (n, r); dtt_ll (n, r) = dy2_ll (n, S) W2[ll] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, r, n, 1.0f, dy2 + (size_t)ll * S,
                (int)ls, tt + (size_t)ll * r, (int)kq, 1.0f, grad->m.w2 + (size_t)ll * S * r, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, r, S, 1.0f, dy2 + (size_t)ll * S,
                (int)ls, m->w2 + (size_t)ll * S * r, r, 0.0f, dtt + (size_t)ll * r, (int)kq);
  }
  /* dt[rr*L + ll] = dtt[ll*r + rr] */
#pragma omp parallel for schedule(static)
  for (int b = 0; b < n; b++)
    for (int rr = 0; rr < r; rr++)
      for (int ll = 0; ll < L; ll++)
        dt[b * kq + (size_t)rr * L + ll] = dtt[b * kq + (size_t)ll * r + rr];
  if (dx) memset(dx, 0, (size_t)n * in * sizeof(float));
  for (int kk = 0; kk < k; kk++) {
    int kin = in - kk * p;
    if (kin > p) kin = p;
    if (kin <= 0) continue;
    /* dW1[kk][:, :kin] (q, kin) += dt_kk^T (q, n) x_kk (n, kin); dx_kk = dt_kk W1[kk][:, :kin] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q, kin, n, 1.0f, dt + (size_t)kk * q,
                (int)kq, x + (size_t)kk * p, in, 1.0f, grad->m.w1 + (size_t)kk * q * p, p);
    if (dx)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, kin, q, 1.0f, dt + (size_t)kk * q,
                  (int)kq, m->w1 + (size_t)kk * q * p, p, 0.0f, dx + (size_t)kk * p, in);
  }
  free(dy2), free(dtt), free(dt), free(ttr), free(t);
  return 0;
}

/* ---------------------------------------------------------------- cross-entropy */

void mon_xent(int n, int V, const float *logits, const int32_t *tgt, float scale, double *loss,
              int32_t *pred, float *dlogits) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *li = logits + (size_t)i * V;
    float mx = li[0];
    int am = 0;
    for (int j = 1; j < V; j++)
      if (li[j] > mx) mx = li[j], am = j;
    double sum = 0;
    for (int j = 0; j < V; j++) sum += exp((double)li[j] - mx);
    double lse = mx + log(sum);
    if (loss) loss[i] = lse - li[tgt[i]];
    if (pred) pred[i] = am;
    if (dlogits) {
      float *di = dlogits + (size_t)i * V;
      for (int j = 0; j < V; j++) di[j] = (float)(exp((double)li[j] - lse)) * scale;
      di[tgt[i]] -= scale;
    }
  }
}
