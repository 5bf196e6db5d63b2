/* Execution of a compiled runner on a batch: input quantization, per-block SGEMM over all DAC
 * steps and weight slices, read noise, ADC, shift-and-add, then the stream's digital commands.
 * Equations: docs/analog-model.md. */
#include "cimsim_int.h"
#include "irdrop.h"
#include "runner_int.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Batch rows per SGEMM: M = chunk * steps rows of digits; ~128 keeps a block's column sums in
 * L2 for the ADC pass that follows (measured with `moncim bench mvm`). */
#define TARGET_M 128
/* Minimum cells x slices per parallel task (a 64 x 64 block of 8 device columns). */
#define TASK_WORK 32768.0

typedef struct {
  float *D, *O, *OV, *Q, *Sd, *z, *fcc, *zw, *wv, *tmp, *vt;
  float *G;  /* (nr, N) room for a column panel of the block's levels widened to floats */
  float *VG; /* (nr, N) read-noise variance per device of the block at hand (read-prop only) */
  double *acc;
} scratch;

static int scratch_alloc(scratch *s, int M, int nr, int N, int nc, int needV) {
  memset(s, 0, sizeof *s);
  s->D = malloc((size_t)M * nr * sizeof(float));
  s->O = malloc((size_t)M * N * sizeof(float));
  s->G = malloc((size_t)nr * N * sizeof(float));
  s->OV = needV ? malloc((size_t)M * N * sizeof(float)) : NULL;
  s->VG = needV ? malloc((size_t)nr * N * sizeof(float)) : NULL;
  s->Q = malloc((size_t)M * sizeof(float));
  s->Sd = malloc((size_t)M * sizeof(float));
  s->z = malloc((size_t)(nc + 8) * sizeof(float));
  s->acc = malloc((size_t)nc * sizeof(double));
  s->fcc = malloc((size_t)nc * sizeof(float));
  s->zw = malloc((size_t)N * sizeof(float));
  s->wv = malloc((size_t)N * sizeof(float));
  s->tmp = malloc((size_t)N * sizeof(float));
  s->vt = malloc((size_t)N * sizeof(float));
  return (!s->D || !s->O || !s->G || (needV && (!s->OV || !s->VG)) || !s->Q || !s->Sd || !s->z ||
          !s->acc || !s->fcc || !s->zw || !s->wv || !s->tmp || !s->vt)
             ? -1
             : 0;
}

static void scratch_free(scratch *s) {
  free(s->D), free(s->O), free(s->OV), free(s->Q), free(s->Sd), free(s->z), free(s->acc),
      free(s->fcc), free(s->zw), free(s->wv), free(s->tmp), free(s->vt), free(s->VG), free(s->G);
}

/* The analog values reaching the ADC: column sums plus read noise (std sqrt(q0 + ov[e])), then
 * the static ADC gain and offset. One branch-free loop per case, so that each vectorises; returns
 * o itself when there is nothing to add. */
static inline const float *analog_values(int n, const float *restrict o, const float *restrict ov,
                                         float q0, const float *restrict z,
                                         const float *restrict aoff, const float *restrict again,
                                         float delta, float *restrict v) {
  if (!z && !again) return o;
  if (!z) {
    for (int e = 0; e < n; e++) v[e] = o[e];
  } else if (!ov) {
    float sg = sqrtf(q0);
    for (int e = 0; e < n; e++) v[e] = o[e] + sg * z[e];
  } else {
    for (int e = 0; e < n; e++) v[e] = o[e] + sqrtf(q0 + ov[e]) * z[e];
  }
  if (again)
    for (int e = 0; e < n; e++) v[e] = v[e] * (1.0f + again[e]) + aoff[e] * delta;
  return v;
}

/* One (vector, step, slice) row of column sums through read noise and the ADC, shift-added into
 * acc with weight w. vt: scratch of nc floats. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adc_row(int nc, const float *restrict o, const float *restrict ov, float q0,
        const float *restrict z, const float *restrict aoff, const float *restrict again, float lo,
        float delta, float cmax, double w, double *restrict acc, float *restrict vt) {
  float inv = 1.0f / delta;
  const float *v = analog_values(nc, o, ov, q0, z, aoff, again, delta, vt);
  for (int c = 0; c < nc; c++) {
    float t = floorf((v[c] - lo) * inv + 0.5f);
    t = t < 0.0f ? 0.0f : t;
    t = t > cmax ? cmax : t;
    acc[c] += w * ((double)lo + (double)t * (double)delta);
  }
}

/* As adc_row in double precision, for ranges of 2^22 codes or more (lossless conversions of
 * large sums, wide ADCs): float would round (v - lo) / LSB + 1/2 before the floor. */
static void adc_row_d(int nc, const float *restrict o, const float *restrict ov, float q0,
                      const float *restrict z, const float *restrict aoff,
                      const float *restrict again, double lo, double delta, double cmax, double w,
                      double *restrict acc, float *restrict vt) {
  const float *v = analog_values(nc, o, ov, q0, z, aoff, again, (float)delta, vt);
  for (int c = 0; c < nc; c++) {
    double t = floor(((double)v[c] - lo) / delta + 0.5);
    t = t < 0.0 ? 0.0 : t > cmax ? cmax : t;
    acc[c] += w * (lo + t * delta);
  }
}

/* As adc_row, for full-scale ranges (same lo and LSB for every slice of a step): accumulates
 * the integer codes weighted by the slice weight, sum_j w_j code_j, exactly in float (the caller
 * checks the bound 2^24); the step's lo and LSB are applied once per step. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adc_row_codes(int nc, const float *restrict o, const float *restrict ov, float q0,
              const float *restrict z, const float *restrict aoff, const float *restrict again,
              float lo, float delta, float cmax, float w, float *restrict fcc, float *restrict vt) {
  float inv = 1.0f / delta;
  const float *v = analog_values(nc, o, ov, q0, z, aoff, again, delta, vt);
  for (int c = 0; c < nc; c++) {
    float t = floorf((v[c] - lo) * inv + 0.5f);
    t = t < 0.0f ? 0.0f : t;
    fcc[c] += w * (t > cmax ? cmax : t);
  }
}

/* The same over a whole (vector, step) row of a block, all device columns at once, with a
 * per-element slice weight: out[e] = w[e] code_e (small blocks: one long loop instead of one
 * short loop per slice). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
adc_row_codes_wide(int n, const float *restrict o, const float *restrict ov, float q0,
                   const float *restrict z, const float *restrict aoff, const float *restrict again,
                   float lo, float delta, float cmax, const float *restrict w, float *restrict out,
                   float *restrict vt) {
  float inv = 1.0f / delta;
  const float *v = analog_values(n, o, ov, q0, z, aoff, again, delta, vt);
  for (int e = 0; e < n; e++) {
    float t = floorf((v[e] - lo) * inv + 0.5f);
    t = t < 0.0f ? 0.0f : t;
    out[e] = w[e] * (t > cmax ? cmax : t);
  }
}

/* ADC range of block K for step k, converted line j: full scale = the range of
 * rows x digit x line level, digits in [dmin_k, dmax_k] and line levels in [0, L] (a device
 * column) or [-L, L] (a G+ - G- pair: bipolar), or that range clipped to the calibrated +-P.
 * LSB = range / (2^bits - 1) when bits are fewer than the lossless bits lb = ceil(log2(range +
 * 1)); else 2^(lb - bits) levels, so a converter with at least the lossless bits reproduces
 * integer sums exactly (and resolves fractions of a level beyond). */
static void adc_range_d(const cim_runner *R, const cblk *K, int k, int j, double *lo, double *delta,
                        double *cmax) {
  int dmin, dmax;
  cim_digit_range(R, k, &dmin, &dmax);
  double lmin = R->ncv != R->nsl ? -R->L : 0, lmax = R->L;
  double p[4] = {dmin * lmin, dmin * lmax, dmax * lmin, dmax * lmax};
  double flo = fmin(fmin(p[0], p[1]), fmin(p[2], p[3])) * K->nr;
  double fhi = fmax(fmax(p[0], p[1]), fmax(p[2], p[3])) * K->nr;
  const cfac *F = &R->fac[K->factor];
  int bits = R->cfg.lossless ? map_hw_lossless_adc_bits(&R->hw, K->nr) : R->hw.adc_bits;
  if (R->cfg.adc_range == CIM_ADC_CALIBRATED && !R->cfg.lossless && F->cal[k * R->ncv + j] > 0) {
    double P = ceil(F->cal[k * R->ncv + j]);
    if (flo < -P) flo = -P;
    if (fhi > P) fhi = P;
  }
  if (bits > 40) bits = 40;
  double nlev = fhi - flo, codes = ldexp(1.0, bits) - 1;
  int lb = (int)ceil(log2(nlev + 1) - 1e-12);
  /* at least the lossless bits: a power-of-two fraction of a level, so integer sums stay on
   * the grid; fewer: the range split evenly over the codes, and a bipolar range (+-P) over
   * 2^bits - 2 LSBs, so that code 2^(bits-1) - 1 is an exact zero (a symmetric mid-tread
   * signed ADC: +-(2^(bits-1) - 1) LSB; the top code stays unused) */
  double d = bits >= lb                ? ldexp(1.0, lb - bits)
             : flo == -fhi && bits > 1 ? nlev / (codes - 1)
                                       : nlev / codes;
  *lo = flo, *delta = d, *cmax = codes;
}

/* Codes beyond this need the double-precision ADC (float holds integers exactly to 2^24; the
 * rounding adds 1/2 and the offset lo). */
#define ADC_FLOAT_CODES 4194304.0

/* The float copy of the range for the vectorised paths; returns 1 if it needs adc_row_d. */
static int adc_range(const cim_runner *R, const cblk *K, int k, int j, float *lo, float *delta,
                     float *cmax) {
  double l, d, c;
  adc_range_d(R, K, k, j, &l, &d, &c);
  *lo = (float)l, *delta = (float)d, *cmax = (float)c;
  return c >= ADC_FLOAT_CODES;
}

/* Read-noise variance of a device from its level l (in level steps):
 * var = (read_gauss L)^2 + (read_prop g / dG)^2 with g / dG = l + Gmin / dG, exactly the variance
 * cimsim's programming step defines (runner.c: program_device). Recomputed from the programmed
 * levels when a block runs instead of stored (the state stays 2 bytes per device). */
typedef struct {
  double vg, rp, g0;
} readvar;

static void level_variances(const float *restrict g, int nr, int w, int ldg, const readvar *rv,
                            float *restrict VG, int ldv) {
  const double vg = rv->vg, rp = rv->rp, g0 = rv->g0;
  for (int i = 0; i < nr; i++)
    for (int c = 0; c < w; c++) {
      double a = rp * (g[(size_t)i * ldg + c] + g0);
      VG[(size_t)i * ldv + c] = (float)(vg + a * a);
    }
}

/* O (M, N) = D (M, nr) x the block's levels (nr, N), and with rv the levels' read-noise variances
 * into VG (nr, N). Half-precision levels are widened in column panels of about 256 KB of floats,
 * so that a panel stays in L2 between its conversion, the SGEMM and the variances reading it (a
 * whole 256 x 2048 block widened at once spilled to memory: 13 % slower `bench mvm` Linear).
 * tmp: nr * N floats. */
static void block_sgemm(const cblk *K, int M, int nr, int N, const float *D, float *tmp, float *O,
                        const readvar *rv, float *VG) {
  if (K->Gf) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, nr, 1.0f, D, nr, K->Gf, N, 0.0f, O,
                N);
    if (rv) level_variances(K->Gf, nr, N, N, rv, VG, N);
    return;
  }
  int P = (65536 / (nr > 0 ? nr : 1)) & ~15;
  if (P < 64) P = 64;
  if (P > N) P = N;
  for (int c0 = 0; c0 < N; c0 += P) {
    int w = N - c0 < P ? N - c0 : P;
    for (int i = 0; i < nr; i++) cim_h2f_n(K->G + (size_t)i * N + c0, tmp + (size_t)i * w, w);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, w, nr, 1.0f, D, nr, tmp, w, 0.0f,
                O + c0, N);
    if (rv) level_variances(tmp, nr, w, w, rv, VG + c0, N);
  }
}

/* Runs block K on vectors b0 .. b0+nb-1 of the batch. qin (B, in_len) quantized inputs of the
 * factor, sx (B) their scales. collect: instead of the ADC, appends |column sums| to cal. */
static void run_block(const cim_runner *R, const cblk *K, const int32_t *qin, const double *sx,
                      int b0, int nb, int64_t row0, float *buf, int64_t ld, scratch *s,
                      float *const *calv, int64_t *caln, int64_t calcap, int calstride) {
  const cfac *F = &R->fac[K->factor];
  /* nsl here counts converted lines (device columns, or G+/G- pairs) */
  int S = R->steps, nsl = R->ncv, nr = K->nr, nc = K->nc, N = nsl * nc, M = nb * S;
  int shared = R->hw.adc_cal_per_slice;
  int enc_off = R->cfg.encoding == CIM_ENC_OFFSET;
  for (int bb = 0; bb < nb; bb++) {
    const int32_t *q = qin + (size_t)(b0 + bb) * F->in_len - F->in_addr;
    for (int k = 0; k < S; k++) {
      float *d = s->D + (size_t)(bb * S + k) * nr;
      float sq = 0, sd = 0;
      for (int i = 0; i < nr; i++) {
        int v = cim_digit(R, q[K->src[i]], k);
        d[i] = (float)v, sq += (float)(v * v), sd += (float)v;
      }
      s->Q[bb * S + k] = sq, s->Sd[bb * S + k] = sd;
    }
  }
  const int hasV = R->nz.read_prop > 0; /* per-device read-noise variance */
  readvar rv = {0, 0, 0};
  if (hasV && !calv) {
    const cim_noise *z = &R->nz;
    double gmin = z->gmax_us / z->onoff;
    rv.g0 = gmin / ((z->gmax_us - gmin) / R->L);
    rv.vg = (z->read_gauss * R->L) * (z->read_gauss * R->L), rv.rp = z->read_prop;
  }
  /* a pair line's variance is stored (both devices; the difference does not determine it) */
  int fromlevels = hasV && !calv && !K->V;
  block_sgemm(K, M, nr, N, s->D, s->G, s->O, fromlevels ? &rv : NULL, s->VG);
  if (hasV && !calv && K->V) cim_h2f_n(K->V, s->VG, (size_t)nr * N);
  if (K->nx) cim_ir_foreign(R, K, qin, b0, nb, s->D + (size_t)M * nr, s->O);
  if (calv) {
    for (int m = 0; m < M; m++)
      for (int j = 0; j < nsl; j++) {
        int slot = shared ? j : (m % S) * nsl + j;
        for (int c = 0; c < nc; c += calstride)
          if (caln[slot] < calcap)
            calv[slot][caln[slot]++] = fabsf(s->O[(size_t)m * N + j * nc + c]);
      }
    return;
  }
  int noisy = R->nz.read_gauss > 0 || R->nz.read_prop > 0;
  if (hasV) {
    for (size_t i = 0; i < (size_t)M * nr; i++) s->D[i] *= s->D[i];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, nr, 1.0f, s->D, nr, s->VG, N, 0.0f,
                s->OV, N);
  }
  /* a pair line sums the read noise of two devices */
  float vconst =
      hasV
          ? 0.0f
          : (float)(R->nz.read_gauss * R->L * R->nz.read_gauss * R->L * (R->ncv != R->nsl ? 2 : 1));
  float lo[64], delta[64], cmax[64];
  int dbl = 0; /* some range needs the double-precision ADC */
  for (int k = 0; k < S; k++)
    for (int j = 0; j < nsl; j++)
      dbl |= adc_range(R, K, k, j, &lo[(k * nsl + j) % 64], &delta[(k * nsl + j) % 64],
                       &cmax[(k * nsl + j) % 64]);
  int off = 1 << (R->hw.w_bits - 1);
  /* integer-code path: full-scale ranges and sum_j |w_j| (2^bits - 1) < 2^24 */
  double sumw = 0, sumabs = 0;
  for (int j = 0; j < nsl; j++) sumw += R->slice_w[j], sumabs += fabs(R->slice_w[j]);
  int codes_ok =
      (R->cfg.adc_range != CIM_ADC_CALIBRATED || R->cfg.lossless) && S * nsl <= 64 && !dbl;
  for (int t = 0; t < S * nsl && codes_ok; t++) codes_ok = sumabs * cmax[t] < 16777216.0;
  int wide = codes_ok && nc < 64 && nsl <= 64;
  for (int j = 0; j < nsl && wide; j++)
    for (int c = 0; c < nc; c++) s->wv[j * nc + c] = (float)R->slice_w[j];
  for (int bb = 0; bb < nb; bb++) {
    int64_t vec = row0 + b0 + bb;
    memset(s->acc, 0, (size_t)nc * sizeof(double));
    double corr = 0;
    for (int k = 0; k < S; k++) {
      int m = bb * S + k;
      double wk = ldexp(1.0, k * R->hw.dac_bits);
      corr += wk * s->Sd[m];
      if (codes_ok) memset(s->fcc, 0, (size_t)nc * sizeof(float));
      if (wide) {
        if (noisy) { /* all slices' bitlines in one call: full vectors of Philox counters */
          uint32_t bls[64];
          for (int j = 0; j < nsl; j++) bls[j] = (uint32_t)(j * R->hw.cols + K->col0);
          cim_normals_segs(s->zw, nsl, nc, bls, R->key, (uint32_t)vec, (uint32_t)k << 24,
                           (uint32_t)K->step,
                           (4u << 28) | ((uint32_t)((uint64_t)vec >> 32) & 0x0fffffffu));
        }
        int t = k * nsl;
        adc_row_codes_wide(N, s->O + (size_t)m * N, hasV ? s->OV + (size_t)m * N : NULL,
                           vconst * s->Q[m], noisy ? s->zw : NULL, K->aoff, K->again, lo[t],
                           delta[t], cmax[t], s->wv, s->tmp, s->vt);
        for (int j = 0; j < nsl; j++)
          for (int c = 0; c < nc; c++) s->fcc[c] += s->tmp[j * nc + c];
      }
      for (int j = 0; j < nsl && !wide; j++) {
        int t = (k * nsl + j) < 64 ? k * nsl + j : 0;
        float *z = NULL;
        if (noisy) {
          uint32_t bl0 = (uint32_t)(j * R->hw.cols + K->col0), a0 = bl0 & ~3u;
          cim_normals(s->z, nc + (int)(bl0 - a0), R->key, (uint32_t)vec,
                      ((uint32_t)k << 24) | (a0 >> 2), (uint32_t)K->step,
                      (4u << 28) | ((uint32_t)((uint64_t)vec >> 32) & 0x0fffffffu));
          z = s->z + (bl0 - a0);
        }
        int big = S * nsl > 64 ? adc_range(R, K, k, j, &lo[t], &delta[t], &cmax[t]) : dbl;
        const float *ov = hasV ? s->OV + (size_t)m * N + j * nc : NULL;
        const float *ao = K->aoff ? K->aoff + j * nc : NULL;
        const float *ag = K->again ? K->again + j * nc : NULL;
        if (codes_ok) {
          adc_row_codes(nc, s->O + (size_t)m * N + j * nc, ov, vconst * s->Q[m], z, ao, ag, lo[t],
                        delta[t], cmax[t], (float)R->slice_w[j], s->fcc, s->vt);
        } else if (big) {
          double dl, dd, dc;
          adc_range_d(R, K, k, j, &dl, &dd, &dc);
          adc_row_d(nc, s->O + (size_t)m * N + j * nc, ov, vconst * s->Q[m], z, ao, ag, dl, dd, dc,
                    wk * R->slice_w[j], s->acc, s->vt);
        } else
          adc_row(nc, s->O + (size_t)m * N + j * nc, ov, vconst * s->Q[m], z, ao, ag, lo[t],
                  delta[t], cmax[t], wk * R->slice_w[j], s->acc, s->vt);
      }
      if (codes_ok) {
        int t = k * nsl; /* lo and LSB are the same for every slice of step k */
        double a = wk * delta[t], b = wk * lo[t] * sumw;
        for (int c = 0; c < nc; c++) s->acc[c] += a * s->fcc[c] + b;
      }
    }
    double scale = F->sw * sx[b0 + bb] * F->alpha;
    float *y = buf + (size_t)(b0 + bb) * ld + K->dst0;
    for (int c = 0; c < nc; c++)
      y[c * K->dstride] = (float)((s->acc[c] - (enc_off ? off * corr : 0.0)) * scale);
  }
}

/* Symmetric input quantization of a factor's input region: scale max|x| / qmax per vector, or
 * the factor's calibrated static scale (hw.in_range_static), clipping counted. In double, so
 * that qmax = 2^(in_bits-1) - 1 stays exact up to 31 bits (in float it rounds up to 2^(in_bits-1)
 * from 25 bits on and the clip would let a code of -2^(in_bits-1) through). */
static void quantize_inputs(const cim_runner *R, cfac *F, int B, const float *buf, int64_t ld,
                            int32_t *qin, double *sx) {
  double qm = R->qmax_in;
  int64_t clip = 0;
  for (int b = 0; b < B; b++) {
    const float *x = buf + (size_t)b * ld + F->in_addr;
    double sc;
    if (R->hw.in_range_static) {
      sc = F->in_scale;
    } else {
      float m = 0;
      for (int i = 0; i < F->in_len; i++) m = fmaxf(m, fabsf(x[i]));
      sc = m > 0 ? (double)m / qm : 1.0;
    }
    sx[b] = sc;
    int32_t *q = qin + (size_t)b * F->in_len;
    for (int i = 0; i < F->in_len; i++) {
      double v = nearbyint((double)x[i] / sc);
      if (v > qm || v < -qm) v = v > 0 ? qm : -qm, clip++;
      q[i] = (int32_t)v;
    }
  }
  if (R->hw.in_range_static) F->in_clip += clip, F->in_seen += (int64_t)B * F->in_len;
}

static int chunk_of(const cim_runner *R, int B) {
  int c = TARGET_M / R->steps;
  if (c < 1) c = 1;
  return c > B ? B : c;
}

/* The k-th smallest of a[0..n) (Hoare's quickselect with a median-of-three pivot; reorders a). */
static float select_kth(float *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    float x = a[lo], y = a[mid], z = a[hi];
    float piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < piv) i++;
      while (a[j] > piv) j--;
      if (i <= j) {
        float t = a[i];
        a[i] = a[j], a[j] = t;
        i++, j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return a[k];
  }
  return a[k];
}

/* Static input range: the in_percentile-th percentile of |x| over the factor's inputs in this
 * batch, as the full-scale input (scale = P / qmax). */
static int calibrate_inputs(cim_runner *R, cfac *F, int B, const float *buf, int64_t ld) {
  int64_t n = (int64_t)B * F->in_len;
  float *a = malloc((size_t)(n ? n : 1) * sizeof *a);
  if (!a) return mon_fail("cimsim: out of memory");
  for (int b = 0; b < B; b++)
    for (int i = 0; i < F->in_len; i++)
      a[(int64_t)b * F->in_len + i] = fabsf(buf[(size_t)b * ld + F->in_addr + i]);
  int64_t idx = (int64_t)ceil(R->cfg.in_percentile / 100.0 * (double)n) - 1;
  if (idx < 0) idx = 0;
  if (idx >= n) idx = n - 1;
  float P = n ? select_kth(a, n, idx) : 0;
  free(a);
  F->in_scale = P > 0 ? (double)P / R->qmax_in : 1.0;
  return 0;
}

/* Calibration: p-th percentile of |ideal column sums| per (step, line) on this batch, or per
 * line over all steps (hw.adc_cal_per_slice). */
static int calibrate_factor(cim_runner *R, cfac *F, int B, const int32_t *qin, const double *sx,
                            float *buf, int64_t ld) {
  int S = R->steps, nsl = R->ncv, ns = R->hw.adc_cal_per_slice ? nsl : S * nsl;
  int64_t cap = 200000; /* samples per (step, slice) */
  float **v = calloc((size_t)ns, sizeof *v);
  int64_t *n = calloc((size_t)ns, sizeof *n);
  int rc = (!v || !n) ? mon_fail("cimsim: out of memory") : 0;
  for (int t = 0; t < ns && !rc; t++)
    if (!(v[t] = malloc((size_t)cap * sizeof(float)))) rc = mon_fail("cimsim: out of memory");
  int64_t total = 0;
  for (int i = 0; i < F->nblk; i++) total += (int64_t)R->blk[F->blk0 + i].nc * B;
  if (ns == nsl) total *= S; /* one pooled sample per line over all steps */
  int stride = (int)(total / cap + 1);
  int chunk = chunk_of(R, B);
  for (int i = 0; i < F->nblk && !rc; i++) {
    const cblk *K = &R->blk[F->blk0 + i];
    scratch s;
    if (scratch_alloc(&s, chunk * S, K->nr + K->nx, nsl * K->nc, K->nc, 0)) {
      scratch_free(&s);
      rc = mon_fail("cimsim: out of memory");
      break;
    }
    for (int b0 = 0; b0 < B; b0 += chunk)
      run_block(R, K, qin, sx, b0, B - b0 < chunk ? B - b0 : chunk, 0, buf, ld, &s, v, n, cap,
                stride);
    scratch_free(&s);
  }
  for (int t = 0; t < ns && !rc; t++) {
    if (!n[t]) continue;
    int64_t idx = (int64_t)ceil(R->cfg.adc_percentile / 100.0 * n[t]) - 1;
    if (idx < 0) idx = 0;
    if (idx >= n[t]) idx = n[t] - 1;
    float q = select_kth(v[t], n[t], idx);
    if (ns == S * nsl)
      F->cal[t] = q < 1 ? 1 : q;
    else /* one range per line, shared by every step */
      for (int k = 0; k < S; k++) F->cal[k * nsl + t] = q < 1 ? 1 : q;
  }
  F->calibrated = !rc;
  for (int t = 0; v && t < ns; t++) free(v[t]);
  free(v), free(n);
  return rc;
}

static int run_factor(cim_runner *R, cfac *F, int64_t row0, int B, float *buf, int64_t ld,
                      int calibrate) {
  if (R->hw.in_range_static && !calibrate && F->in_scale <= 0)
    return mon_fail("cimsim: layer %d: static input range not calibrated (in_range_static = 1 "
                    "needs cim_runner_calibrate on calibration inputs first)",
                    F->layer);
  int32_t *qin = malloc((size_t)B * F->in_len * sizeof *qin);
  double *sx = malloc((size_t)B * sizeof *sx);
  if (!qin || !sx) {
    free(qin), free(sx);
    return mon_fail("cimsim: out of memory");
  }
  int rc = 0;
  if (calibrate && R->hw.in_range_static) rc = calibrate_inputs(R, F, B, buf, ld);
  int64_t clip0 = F->in_clip, seen0 = F->in_seen;
  quantize_inputs(R, F, B, buf, ld, qin, sx);
  if (calibrate) F->in_clip = clip0, F->in_seen = seen0; /* count evaluation data only */
  if (!rc && calibrate && R->cfg.adc_range == CIM_ADC_CALIBRATED)
    rc = calibrate_factor(R, F, B, qin, sx, buf, ld);
  if (!rc && calibrate) F->calibrated = 1;
  int chunk = chunk_of(R, B), nch = (B + chunk - 1) / chunk;
  int maxnr = 1, maxnc = 1, anyV = 0;
  /* tasks: groups of consecutive blocks with enough work each (small Monarch blocks would
   * otherwise drown in scheduling), times batch chunks */
  int *gs = malloc((size_t)(F->nblk + 1) * sizeof *gs), ng = 0;
  if (!gs) rc = mon_fail("cimsim: out of memory");
  double work = 0;
  for (int i = 0; i < F->nblk && gs; i++) {
    const cblk *K = &R->blk[F->blk0 + i];
    if (K->nr + K->nx > maxnr) maxnr = K->nr + K->nx; /* digits of the rows, then of IR drop's */
    if (K->nc > maxnc) maxnc = K->nc;
    anyV = R->nz.read_prop > 0;
    if (i == 0 || work >= TASK_WORK) gs[ng++] = i, work = 0;
    work += (double)K->nr * K->nc * R->ncv;
  }
  if (gs) gs[ng] = F->nblk;
  int ntask = ng * nch;
  int fail = 0;
  const cim_runner *RC = R;
  if (!rc) {
#pragma omp parallel default(none) shared(RC, F, qin, sx, buf, gs)                                 \
    firstprivate(ld, row0, B, chunk, nch, ntask, maxnr, maxnc, anyV) reduction(|                   \
                                                                               : fail)
    {
      scratch s;
      int bad = scratch_alloc(&s, chunk * RC->steps, maxnr, RC->ncv * maxnc, maxnc, anyV);
#pragma omp for schedule(dynamic, 1)
      for (int t = 0; t < ntask; t++) {
        if (bad) continue;
        int g = t / nch, b0 = (t % nch) * chunk;
        for (int i = gs[g]; i < gs[g + 1]; i++)
          run_block(RC, &RC->blk[F->blk0 + i], qin, sx, b0, B - b0 < chunk ? B - b0 : chunk, row0,
                    buf, ld, &s, NULL, NULL, 0, 1);
      }
      scratch_free(&s);
      fail |= bad;
    }
  }
  if (!rc && fail) rc = mon_fail("cimsim: out of memory for the batch scratch");
  free(qin), free(sx), free(gs);
  return rc;
}

/* Runs the compiled ops of layer l on a batch held in buf (B, ld). */
static int run_layer(cim_runner *R, int l, int64_t row0, int B, float *buf, int64_t ld,
                     int calibrate) {
  const clayer *Ly = &R->lay[l];
  for (int i = 0; i < Ly->nops; i++) {
    const cop *o = &Ly->ops[i];
    switch (o->op) {
    case OP_FACTOR:
      if (run_factor(R, &R->fac[o->factor], row0, B, buf, ld, calibrate)) return -1;
      break;
    case MAP_OP_DIGITAL: /* ZERO */
      for (int b = 0; b < B; b++) memset(buf + (size_t)b * ld + o->dst, 0, (size_t)o->ncols * 4);
      break;
    case MAP_OP_ACCUM:
      for (int b = 0; b < B; b++) {
        float *x = buf + (size_t)b * ld;
        for (int j = 0; j < o->ncols; j++) {
          double acc = 0;
          for (int t = 0; t < o->count; t++) acc += x[o->src + t * o->stride + j];
          x[o->dst + j] = (float)acc;
        }
      }
      break;
    case MAP_OP_PERMUTE:
      for (int b = 0; b < B; b++) {
        float *x = buf + (size_t)b * ld;
        for (int r = 0; r < o->nrows; r++)
          for (int c = 0; c < o->ncols; c++)
            x[o->dst + (int64_t)c * o->nrows + r] = x[o->src + (int64_t)r * o->ncols + c];
      }
      break;
    default:
      return mon_fail("cimsim: layer %d: unexpected op %d", l, o->op);
    }
  }
  return 0;
}

static int apply(cim_runner *R, int layer, int64_t row0, int batch, const float *x, float *y,
                 int calibrate) {
  if (layer < 0 || layer >= R->mm->nlayers)
    return mon_fail("cimsim: layer %d out of range [0, %d)", layer, R->mm->nlayers);
  if (batch < 1) return 0;
  const clayer *Ly = &R->lay[layer];
  const map_io *io = &R->cs.io[layer];
  int64_t ld = Ly->len;
  float *buf = calloc((size_t)batch * ld, sizeof(float));
  if (!buf) return mon_fail("cimsim: out of memory for a batch of %d", batch);
  for (int b = 0; b < batch; b++)
    memcpy(buf + (size_t)b * ld + (io->x - Ly->lo), x + (size_t)b * io->in,
           (size_t)io->in * sizeof(float));
  int nthr = openblas_get_num_threads();
  openblas_set_num_threads(1); /* parallelism is ours (over blocks x batch chunks) */
  int rc = run_layer(R, layer, row0, batch, buf, ld, calibrate);
  openblas_set_num_threads(nthr);
  if (!rc)
    for (int b = 0; b < batch; b++)
      memcpy(y + (size_t)b * io->out, buf + (size_t)b * ld + (io->y - Ly->lo),
             (size_t)io->out * sizeof(float));
  free(buf);
  return rc;
}

int cim_runner_apply(cim_runner *r, int layer, int64_t row0, int batch, const float *x, float *y) {
  return apply(r, layer, row0, batch, x, y, 0);
}

int cim_runner_calibrate(cim_runner *r, int layer, int batch, const float *x) {
  float *y = malloc((size_t)(batch > 0 ? batch : 1) * r->cs.io[layer].out * sizeof(float));
  if (!y) return mon_fail("cimsim: out of memory");
  int rc = apply(r, layer, 0, batch, x, y, 1);
  free(y);
  return rc;
}

int cim_runner_needs_calibration(const cim_runner *r) {
  return r->cfg.adc_range == CIM_ADC_CALIBRATED || r->hw.in_range_static;
}

int cim_runner_input_clip(const cim_runner *r, int layer, int64_t *clipped, int64_t *seen) {
  if (layer < 0 || layer >= r->mm->nlayers)
    return mon_fail("cimsim: layer %d out of range [0, %d)", layer, r->mm->nlayers);
  *clipped = *seen = 0;
  const clayer *Ly = &r->lay[layer];
  for (int i = 0; i < Ly->nops; i++)
    if (Ly->ops[i].op == OP_FACTOR)
      *clipped += r->fac[Ly->ops[i].factor].in_clip, *seen += r->fac[Ly->ops[i].factor].in_seen;
  return 0;
}

double cim_runner_input_clip_frac(const cim_runner *r) {
  int64_t c = 0, n = 0;
  for (int f = 0; f < r->mp.nfactors; f++) c += r->fac[f].in_clip, n += r->fac[f].in_seen;
  return n ? (double)c / (double)n : 0.0;
}

void cim_runner_reset_stats(cim_runner *r) {
  for (int l = 0; l < r->mm->nlayers; l++) r->lay[l].err_sum = 0, r->lay[l].err_n = 0;
  for (int f = 0; f < r->mp.nfactors; f++) r->fac[f].in_clip = r->fac[f].in_seen = 0;
}

int cim_runner_is_calibrated(const cim_runner *r, int layer) {
  const clayer *Ly = &r->lay[layer];
  for (int i = 0; i < Ly->nops; i++)
    if (Ly->ops[i].op == OP_FACTOR && !r->fac[Ly->ops[i].factor].calibrated) return 0;
  return 1;
}

/* ---------------------------------------------------------------- benchmark support */

double cim_runner_macs(const cim_runner *r, int layer) {
  double m = 0;
  const clayer *Ly = &r->lay[layer];
  for (int i = 0; i < Ly->nops; i++) {
    if (Ly->ops[i].op != OP_FACTOR) continue;
    const cfac *F = &r->fac[Ly->ops[i].factor];
    for (int k = 0; k < F->nblk; k++) {
      const cblk *K = &r->blk[F->blk0 + k];
      m += (double)K->nr * K->nc * r->ncv * r->steps;
    }
  }
  return m;
}

int cim_runner_sgemm_equiv(cim_runner *R, int layer, int B) {
  const clayer *Ly = &R->lay[layer];
  if (!R->ref_G) {
    if (!(R->ref_G = calloc((size_t)R->nblk + 1, sizeof *R->ref_G)))
      return mon_fail("cimsim: out of memory");
    for (int b = 0; b < R->nblk; b++) {
      const cblk *K = &R->blk[b];
      size_t n = (size_t)K->nr * R->ncv * K->nc;
      if (!(R->ref_G[b] = malloc((n ? n : 1) * sizeof(float)))) {
        for (int c = 0; c < b; c++) free(R->ref_G[c]);
        free(R->ref_G);
        R->ref_G = NULL;
        return mon_fail("cimsim: out of memory");
      }
      if (K->Gf)
        memcpy(R->ref_G[b], K->Gf, n * sizeof(float));
      else
        cim_h2f_n(K->G, R->ref_G[b], n);
    }
  }
  int nthr = openblas_get_num_threads(), fail = 0;
  openblas_set_num_threads(1);
  for (int i = 0; i < Ly->nops && !fail; i++) {
    if (Ly->ops[i].op != OP_FACTOR) continue;
    const cfac *F = &R->fac[Ly->ops[i].factor];
    int chunk = chunk_of(R, B), nch = (B + chunk - 1) / chunk, ntask = F->nblk * nch;
    int maxnr = 1, maxnc = 1;
    for (int k = 0; k < F->nblk; k++) {
      const cblk *K = &R->blk[F->blk0 + k];
      if (K->nr > maxnr) maxnr = K->nr;
      if (K->nc > maxnc) maxnc = K->nc;
    }
#pragma omp parallel default(none) shared(R, F) firstprivate(B, chunk, nch, ntask, maxnr, maxnc)   \
    reduction(|                                                                                    \
              : fail)
    {
      int M = chunk * R->steps, N = R->ncv * maxnc;
      float *A = calloc((size_t)M * maxnr, sizeof(float));
      float *C = malloc((size_t)M * N * sizeof(float));
      int bad = !A || !C;
#pragma omp for schedule(dynamic, 1)
      for (int t = 0; t < ntask; t++) {
        if (bad) continue;
        const cblk *K = &R->blk[F->blk0 + t / nch];
        const float *G = R->ref_G[F->blk0 + t / nch];
        int b0 = (t % nch) * chunk, nb = B - b0 < chunk ? B - b0 : chunk;
        int n = R->ncv * K->nc;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb * R->steps, n, K->nr, 1.0f, A,
                    K->nr, G, n, 0.0f, C, n);
      }
      free(A), free(C);
      fail |= bad;
    }
  }
  openblas_set_num_threads(nthr);
  return fail ? mon_fail("cimsim: out of memory") : 0;
}
