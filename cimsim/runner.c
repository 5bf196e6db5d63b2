/* The analog CIM runner: compiles a mapping's command stream once into batched kernels and
 * executes them with the analog model of docs/analog-model.md.
 *
 * Compilation (cim_runner_create): every MVM of the stream (DRIVEs + CONVERTs sharing a step id)
 * is split into blocks, one per piece read by a CONVERT: the piece's driven rows x the converted
 * columns. A block stores the device levels of all its weight slices side by side, (rows,
 * slices * cols), after programming noise, drift and faults, so that one SGEMM per batch chunk
 * computes every (DAC step, slice) column sum of the block at once: the input digits of all DAC
 * steps are stacked as rows of the left operand. The ADC, shift-and-add and scaling follow in
 * one vectorised pass. ACCUM / PERMUTE / ZERO commands run as written; addresses are those of
 * the stream (the stream is the program), validated at compile time.
 *
 * Arithmetic is exact where the hardware is: digits and levels are small integers, so the SGEMM
 * sums are exact integers in float (checked: rows * (2^cell_bits - 1) * (2^dac_bits - 1) < 2^24),
 * and shift-and-add accumulates in double. */
#include "cimsim_int.h"
#include "irdrop.h"
#include "runner_int.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- configuration */

void cim_config_default(cim_config *c, const map_hw *hw) {
  memset(c, 0, sizeof *c);
  c->encoding = hw && !hw->differential ? CIM_ENC_OFFSET : CIM_ENC_DIFFERENTIAL;
  c->adc_range = CIM_ADC_FULLSCALE;
  c->adc_percentile = 99.99; /* assumption: clip the top 0.01 % of column sums */
  c->in_percentile = 100;    /* assumption: static input full scale = max |x| seen in calibration */
  c->seed = 1;
}

/* ---------------------------------------------------------------- helpers */

static float weight_at(const cim_runner *R, const map_factor *F, int b, int o, int i) {
  const map_layer *L = &R->mm->layer[F->layer];
  switch (F->which) {
  case MAP_F_W1:
    return L->mon->w1[((size_t)b * L->q + o) * L->p + i];
  case MAP_F_W2:
    return L->mon->w2[((size_t)b * L->s + o) * L->r + i];
  default:
    if (!L->is_monarch) return L->w[(size_t)o * L->in + i];
    return R->dense[F->layer][(size_t)o * L->in + i];
  }
}

static double factor_absmax(const cim_runner *R, const map_factor *F) {
  const map_layer *L = &R->mm->layer[F->layer];
  const float *w;
  size_t n;
  if (F->which == MAP_F_W1)
    w = L->mon->w1, n = mon_monarch_w1_len(L->mon);
  else if (F->which == MAP_F_W2)
    w = L->mon->w2, n = mon_monarch_w2_len(L->mon);
  else
    w = L->is_monarch ? R->dense[F->layer] : L->w, n = (size_t)L->out * L->in;
  double m = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(w[i]) > m) m = fabs(w[i]);
  return m;
}

/* ---------------------------------------------------------------- device model */

/* Programs one device: target level lt in [0, L] at (array, row, bitline). Returns the effective
 * level (G - Gmin) / dG after programming noise, drift and faults; *var gets the read-noise
 * variance in level^2. Equations and sources: docs/analog-model.md, noise.c. */
static float program_device(const cim_runner *R, int array, int row, int bitline, int lt,
                            float *var) {
  const cim_noise *z = &R->nz;
  double gmin = z->gmax_us / z->onoff, dg = (z->gmax_us - gmin) / R->L;
  double gt = gmin + lt * dg, g = gt;
  uint32_t w[4] = {0}, w2[4] = {0};
  int need1 = z->prog_gauss > 0 || z->prog_prop > 0 || z->prog_pcm > 0;
  int need2 = z->drift || z->stuck_off > 0 || z->stuck_on > 0;
  if (need1) {
    uint32_t ctr[4] = {(uint32_t)row, (uint32_t)bitline, (uint32_t)array, TAG_PROG << 28};
    cim_philox(ctr, R->key, w);
  }
  if (need2) {
    uint32_t ctr[4] = {(uint32_t)row, (uint32_t)bitline, (uint32_t)array, TAG_PROG2 << 28};
    cim_philox(ctr, R->key, w2);
  }
  if (z->prog_gauss > 0) g += z->prog_gauss * (z->gmax_us - gmin) * cim_word_to_normal(w[0]);
  if (z->prog_prop > 0) g += z->prog_prop * gt * cim_word_to_normal(w[1]);
  if (z->prog_pcm > 0) {
    /* aihwkit PCMLikeNoiseModel: sigma = (c0 + c1 x + c2 x^2) gmax / 25 uS, x = G_T / gmax */
    double x = gt / z->gmax_us;
    double sig = (0.26348 + 1.9650 * x - 1.1731 * x * x) * z->gmax_us / 25.0;
    if (sig < 0) sig = 0;
    g += z->prog_pcm * sig * cim_word_to_normal(w[2]);
  }
  if (g < 0) g = 0; /* no negative conductance (aihwkit clamps too) */
  if (z->drift) {
    double nu;
    double n1 = cim_word_to_normal(w2[0]);
    if (z->drift_nu < 0) { /* aihwkit PCM state-dependent drift exponent */
      double gr = fabs(gt / z->gmax_us);
      if (gr < 1e-7) gr = 1e-7;
      double mu = -0.0155 * log(gr) + 0.0244, sd = -0.0125 * log(gr) - 0.0059;
      mu = mu < 0.049 ? 0.049 : mu > 0.1 ? 0.1 : mu;
      sd = sd < 0.008 ? 0.008 : sd > 0.045 ? 0.045 : sd;
      nu = fabs(mu + sd * n1);
    } else {
      nu = fabs(z->drift_nu + z->drift_nu_std * n1);
    }
    g *= pow((z->drift_t + z->drift_t0) / z->drift_t0, -nu);
  }
  if (z->stuck_off > 0 || z->stuck_on > 0) {
    double u = cim_word_to_uniform(w2[1]);
    if (u < z->stuck_off)
      g = gmin;
    else if (u < z->stuck_off + z->stuck_on)
      g = z->gmax_us;
  }
  double sg = z->read_gauss * R->L, sp = z->read_prop * g / dg;
  *var = (float)(sg * sg + sp * sp);
  return (float)((g - gmin) / dg);
}

static int program_block(cim_runner *R, cblk *K, const map_piece *p, const map_factor *F,
                         const int *rows, double *sum_t, double *sum_a) {
  int nsl = R->nsl, ncv = R->ncv, N = ncv * K->nc, pair = ncv != nsl;
  K->G = malloc((size_t)K->nr * N * sizeof *K->G);
  int needV = pair && R->nz.read_prop > 0; /* a pair's variance is not a function of G+ - G- */
  if (needV) K->V = malloc((size_t)K->nr * N * sizeof *K->V);
  /* one row in single precision, then rounded to half at once (cim_f2h_n) */
  float *rowG = malloc((size_t)N * sizeof *rowG), *rowV = malloc((size_t)N * sizeof *rowV);
  if (!K->G || (needV && !K->V) || !rowG || !rowV) {
    free(rowG), free(rowV);
    return mon_fail("cimsim: out of memory for conductances");
  }
  double sw = R->fac[K->factor].sw;
  int cb = R->hw.cell_bits, off = 1 << (R->hw.w_bits - 1);
  for (int i = 0; i < K->nr; i++) {
    int r = rows[i];
    for (int c = 0; c < K->nc; c++) {
      int col = K->col0 + c;
      float w = weight_at(R, F, p->block, p->o0 + (col - p->col0), p->i0 + (r - p->row0));
      double qd = sw > 0 ? nearbyint(w / sw) : 0;
      if (qd > R->qmax_w) qd = R->qmax_w;
      if (qd < -R->qmax_w) qd = -R->qmax_w;
      int q = (int)qd;
      for (int j = 0; j < nsl; j++) {
        int lt;
        if (R->cfg.encoding == CIM_ENC_DIFFERENTIAL) {
          int s = j / 2, neg = j % 2, m = q < 0 ? -q : q;
          lt = ((q < 0) == neg && q != 0) ? (m >> (s * cb)) & R->L : 0;
        } else {
          lt = ((q + off) >> (j * cb)) & R->L;
        }
        float var; /* recomputed from the level when needed (exec.c) */
        float l = program_device(R, K->array, r, j * R->hw.cols + col, lt, &var);
        /* after the analog subtraction a line carries G+ - G- and both devices' read noise */
        size_t e = (size_t)(pair ? j / 2 : j) * K->nc + c;
        if (pair && (j % 2)) {
          rowG[e] -= l;
          rowV[e] += var;
        } else {
          rowG[e] = l;
          rowV[e] = var;
        }
        *sum_t += lt, *sum_a += l;
      }
    }
    cim_f2h_n(rowG, K->G + (size_t)i * N, (size_t)N);
    if (needV) cim_f2h_n(rowV, K->V + (size_t)i * N, (size_t)N);
  }
  free(rowG), free(rowV);
  if (R->nz.adc_offset > 0 || R->nz.adc_gain > 0) {
    K->aoff = malloc((size_t)N * sizeof(float));
    K->again = malloc((size_t)N * sizeof(float));
    if (!K->aoff || !K->again) return mon_fail("cimsim: out of memory");
    for (int j = 0; j < ncv; j++)
      for (int c = 0; c < K->nc; c++) {
        int adc = (j * R->hw.cols + K->col0 + c) / R->hw.cols_per_adc;
        uint32_t ctr[4] = {(uint32_t)adc, (uint32_t)K->array, 0, TAG_ADC << 28}, w[4];
        cim_philox(ctr, R->key, w);
        K->aoff[j * K->nc + c] = (float)(R->nz.adc_offset * cim_word_to_normal(w[0]));
        K->again[j * K->nc + c] = (float)(R->nz.adc_gain * cim_word_to_normal(w[1]));
      }
  }
  return 0;
}

/* ---------------------------------------------------------------- compilation */

typedef struct {
  int n, cap;
  const map_cmd **c;
} cmdlist;

static int cl_push(cmdlist *l, const map_cmd *c) {
  if (l->n == l->cap) {
    int nc = l->cap ? 2 * l->cap : 16;
    const map_cmd **p = realloc(l->c, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("cimsim: out of memory");
    l->c = p, l->cap = nc;
  }
  l->c[l->n++] = c;
  return 0;
}

typedef struct {
  int *start;            /* per array: first piece index (pieces sorted by array) */
  int *owner;            /* (cols) block owning each column in the current MVM, -1 */
  int *rows;             /* scratch */
  double *sum_t, *sum_a; /* per factor: target and actual level sums (drift compensation) */
} compiler;

static int push_block(cim_runner *R, cblk K) {
  if (R->nblk == R->cap_blk) {
    int nc = R->cap_blk ? 2 * R->cap_blk : 256;
    cblk *p = realloc(R->blk, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("cimsim: out of memory");
    R->blk = p, R->cap_blk = nc;
  }
  R->blk[R->nblk++] = K;
  return 0;
}

/* One MVM: drives D[0..nd), converts C[0..ncv) -> blocks. */
static int compile_mvm(cim_runner *R, compiler *X, const clayer *Ly, const cmdlist *D,
                       const cmdlist *C) {
  const map_mapping *mp = &R->mp;
  int a = D->c[0]->array, step = D->c[0]->step;
  for (int i = 0; i < C->n; i++)
    for (int c = 0; c < C->c[i]->ncols; c++) X->owner[C->c[i]->col0 + c] = -1;
  for (int i = 0; i < C->n; i++) {
    const map_cmd *cv = C->c[i];
    if (cv->array != a) return mon_fail("cimsim: CONVERT of MVM %d on another array", step);
    for (int pi = X->start[a]; pi < X->start[a + 1]; pi++) {
      const map_piece *p = &mp->piece[pi];
      int c0 = p->col0 > cv->col0 ? p->col0 : cv->col0;
      int c1 = p->col0 + p->no < cv->col0 + cv->ncols ? p->col0 + p->no : cv->col0 + cv->ncols;
      if (c0 >= c1) continue;
      int nr = 0;
      cblk K = {
          .factor = p->factor, .array = a, .piece = pi, .step = step, .col0 = c0, .nc = c1 - c0};
      K.src = malloc((size_t)p->ni * sizeof *K.src);
      if (!K.src) return mon_fail("cimsim: out of memory");
      for (int r = p->row0; r < p->row0 + p->ni; r++)
        for (int d = 0; d < D->n; d++) {
          const map_cmd *dr = D->c[d];
          if (r >= dr->row0 && r < dr->row0 + dr->nrows) {
            X->rows[nr] = r;
            K.src[nr++] = (int32_t)(dr->src + (r - dr->row0) - Ly->lo);
            break;
          }
        }
      if (!nr) {
        free(K.src);
        continue;
      }
      K.nr = nr, K.row0 = X->rows[0];
      K.rows = malloc((size_t)nr * sizeof *K.rows);
      if (!K.rows) return mon_fail("cimsim: out of memory");
      memcpy(K.rows, X->rows, (size_t)nr * sizeof *K.rows);
      K.dstride = cv->stride > 1 ? cv->stride : 1;
      K.dst0 = cv->dst + (c0 - cv->col0) * K.dstride - Ly->lo;
      if (p->factor != D->c[0]->factor)
        return mon_fail("cimsim: MVM %d (array %d) reads a piece of another factor", step, a);
      if (nr > cv->count)
        return mon_fail("cimsim: MVM %d (array %d): a column sums %d rows, CONVERT declares %d",
                        step, a, nr, cv->count);
      for (int c = c0; c < c1; c++) {
        if (X->owner[c] >= 0)
          return mon_fail("cimsim: MVM %d (array %d): column %d sums cells of two pieces", step, a,
                          c);
        X->owner[c] = pi;
      }
      cfac *F = &R->fac[p->factor];
      for (int r = 0; r < nr; r++)
        if (K.src[r] < F->in_addr || K.src[r] >= F->in_addr + F->in_len)
          return mon_fail("cimsim: MVM %d (array %d): row %d reads outside its factor's input",
                          step, a, X->rows[r]);
      if (K.dst0 < 0 || K.dst0 + (K.nc - 1) * K.dstride + 1 > Ly->len)
        return mon_fail("cimsim: MVM %d (array %d): output outside the layer's buffer", step, a);
      /* exactness of the float SGEMM: every partial sum must be an integer below 2^24 */
      int dmin, dmax;
      cim_digit_range(R, R->steps - 1, &dmin, &dmax);
      double big = (double)nr * R->L * fmax(fmax(-dmin, dmax), (1 << R->hw.dac_bits) - 1);
      if (big >= 16777216.0)
        return mon_fail("cimsim: %d rows x (2^cell_bits - 1) x (2^dac_bits - 1) = %.0f >= 2^24: "
                        "column sums would not be exact in float (lower cell_bits or dac_bits)",
                        nr, big);
      if (program_block(R, &K, p, &mp->factor[p->factor], X->rows, &X->sum_t[p->factor],
                        &X->sum_a[p->factor]))
        return -1;
      if (push_block(R, K)) return -1;
    }
  }
  return 0;
}

static int layer_region(const map_stream *cs, int l, clayer *Ly) {
  int64_t lo = INT64_MAX, hi = -1;
#define SPAN(a, n)                                                                                 \
  do {                                                                                             \
    if ((a) >= 0 && (n) > 0) {                                                                     \
      if ((a) < lo) lo = (a);                                                                      \
      if ((a) + (n) > hi) hi = (a) + (n);                                                          \
    }                                                                                              \
  } while (0)
  SPAN(cs->io[l].x, cs->io[l].in);
  SPAN(cs->io[l].y, cs->io[l].out);
  for (int id = cs->nprogram; id < cs->ncmds; id++) {
    const map_cmd *c = &cs->cmd[id];
    if (c->layer != l) continue;
    switch (c->op) {
    case MAP_OP_DRIVE:
      SPAN(c->src, c->nrows);
      break;
    case MAP_OP_CONVERT:
      SPAN(c->dst, c->stride > 1 ? (int64_t)(c->ncols - 1) * c->stride + 1 : c->ncols);
      break;
    case MAP_OP_ACCUM:
      SPAN(c->src, (int64_t)(c->count - 1) * c->stride + c->ncols);
      SPAN(c->dst, c->ncols);
      break;
    case MAP_OP_PERMUTE:
      SPAN(c->src, (int64_t)c->nrows * c->ncols);
      SPAN(c->dst, (int64_t)c->nrows * c->ncols);
      break;
    case MAP_OP_DIGITAL:
      SPAN(c->dst, c->ncols);
      break;
    default:
      break;
    }
  }
#undef SPAN
  if (hi < 0) return mon_fail("cimsim: layer %d has no buffer region", l);
  Ly->lo = lo, Ly->len = hi - lo;
  return 0;
}

static int push_op(clayer *Ly, int *cap, cop o) {
  if (Ly->nops == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    cop *p = realloc(Ly->ops, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("cimsim: out of memory");
    Ly->ops = p, *cap = nc;
  }
  Ly->ops[Ly->nops++] = o;
  return 0;
}

static int compile(cim_runner *R) {
  const map_stream *cs = &R->cs;
  const map_mapping *mp = &R->mp;
  const map_model *mm = R->mm;
  compiler X = {0};
  X.start = calloc((size_t)mp->narrays + 1, sizeof *X.start);
  X.owner = malloc((size_t)mp->cols * sizeof *X.owner);
  X.rows = malloc((size_t)mp->rows * sizeof *X.rows);
  X.sum_t = calloc((size_t)mp->nfactors + 1, sizeof *X.sum_t);
  X.sum_a = calloc((size_t)mp->nfactors + 1, sizeof *X.sum_a);
  int rc = 0;
  if (!X.start || !X.owner || !X.rows || !X.sum_t || !X.sum_a)
    rc = mon_fail("cimsim: out of memory");
  for (int i = 0; i < mp->npieces && !rc; i++) {
    if (i && mp->piece[i].array < mp->piece[i - 1].array)
      rc = mon_fail("cimsim: mapping pieces not sorted by array");
    X.start[mp->piece[i].array + 1]++;
  }
  for (int a = 0; a < mp->narrays && !rc; a++) X.start[a + 1] += X.start[a];
  /* factors: scale, input region */
  for (int l = 0; l < mm->nlayers && !rc; l++) {
    const map_layer *L = &mm->layer[l];
    if (L->is_monarch ? !L->mon : !L->w)
      rc = mon_fail("cimsim: layer '%s' has no weights", L->name);
    else if (layer_region(cs, l, &R->lay[l]))
      rc = -1;
  }
  for (int f = 0; f < mp->nfactors && !rc; f++) {
    const map_factor *F = &mp->factor[f];
    const map_layer *L = &mm->layer[F->layer];
    if (F->which == MAP_F_DENSE && L->is_monarch && !R->dense[F->layer]) {
      R->dense[F->layer] = malloc((size_t)L->out * L->in * sizeof(float));
      if (!R->dense[F->layer]) {
        rc = mon_fail("cimsim: out of memory");
        break;
      }
      mon_monarch_to_dense(L->mon, R->dense[F->layer]);
    }
    cfac *C = &R->fac[f];
    C->layer = F->layer;
    C->sw = factor_absmax(R, F) / R->qmax_w;
    C->in_addr = F->in_addr - R->lay[F->layer].lo;
    C->in_len = F->nb * F->bi;
    C->alpha = 1;
    C->cal = calloc((size_t)R->steps * R->ncv, sizeof(float));
    if (!C->cal) rc = mon_fail("cimsim: out of memory");
  }
  /* per layer: ops in stream order; MVMs -> blocks */
  cmdlist D = {0}, C = {0};
  for (int l = 0; l < mm->nlayers && !rc; l++) {
    clayer *Ly = &R->lay[l];
    int cap = 0, cur_step = -1, cur_factor = -1;
    for (int id = cs->io[l].first; id < cs->ncmds && !rc; id++) {
      const map_cmd *c = &cs->cmd[id];
      if (c->layer != l) break;
      int mvm = c->op == MAP_OP_DRIVE || c->op == MAP_OP_CONVERT;
      if (cur_step >= 0 && (!mvm || c->step != cur_step)) {
        rc = compile_mvm(R, &X, Ly, &D, &C);
        D.n = C.n = 0;
        R->fac[cur_factor].nblk = R->nblk - R->fac[cur_factor].blk0;
        cur_step = -1;
        if (rc) break;
      }
      if (mvm) {
        if (c->factor < 0 || c->factor >= mp->nfactors) {
          rc = mon_fail("cimsim: command %d: factor %d out of range", id, c->factor);
          break;
        }
        if (c->factor != cur_factor) {
          cur_factor = c->factor;
          R->fac[cur_factor].blk0 = R->nblk;
          rc = push_op(Ly, &cap, (cop){.op = OP_FACTOR, .factor = cur_factor});
        }
        cur_step = c->step;
        if (!rc) rc = cl_push(c->op == MAP_OP_DRIVE ? &D : &C, c);
        if (!rc && c->op == MAP_OP_CONVERT && D.n == 0)
          rc = mon_fail("cimsim: command %d: CONVERT without DRIVE", id);
        continue;
      }
      cop o = {.op = c->op,
               .sub = c->sub,
               .src = c->src - Ly->lo,
               .dst = c->dst - Ly->lo,
               .nrows = c->nrows,
               .ncols = c->ncols,
               .count = c->count,
               .stride = c->stride};
      if (c->op == MAP_OP_ACCUM || c->op == MAP_OP_PERMUTE ||
          (c->op == MAP_OP_DIGITAL && c->sub == MAP_DIG_ZERO))
        rc = push_op(Ly, &cap, o);
      /* BARRIER: no data effect; BIAS: cim_runner_apply returns W x without bias */
    }
    if (!rc && cur_step >= 0) {
      rc = compile_mvm(R, &X, Ly, &D, &C);
      D.n = C.n = 0;
      R->fac[cur_factor].nblk = R->nblk - R->fac[cur_factor].blk0;
    }
  }
  for (int f = 0; f < mp->nfactors && !rc; f++)
    if (R->nz.drift && R->nz.drift_comp && X.sum_a[f] > 0)
      R->fac[f].alpha = X.sum_t[f] / X.sum_a[f];
  free(D.c), free(C.c);
  free(X.start), free(X.owner), free(X.rows), free(X.sum_t), free(X.sum_a);
  return rc;
}

int cim_runner_create(cim_runner **out, const map_model *mm, const map_hw *hw, map_strategy_id st,
                      const map_options *opt, const cim_config *cfg) {
  *out = NULL;
  cim_runner *R = calloc(1, sizeof *R);
  if (!R) return mon_fail("cimsim: out of memory");
  R->mm = mm;
  R->hw = *hw;
  if (cfg)
    R->cfg = *cfg;
  else
    cim_config_default(&R->cfg, hw);
  R->hw.differential = R->cfg.encoding == CIM_ENC_DIFFERENTIAL;
  int rc = map_hw_validate(&R->hw, "cimsim hw");
  if (!rc && (R->hw.in_bits < 2 || R->hw.in_bits > 31 || R->hw.w_bits < 2 || R->hw.w_bits > 31))
    rc = mon_fail(
        "cimsim hw: in_bits = %d, w_bits = %d: expected both in [2, 31] (sign + magnitude)",
        R->hw.in_bits, R->hw.w_bits);
  if (!rc && R->cfg.adc_range == CIM_ADC_CALIBRATED &&
      !(R->cfg.adc_percentile > 0 && R->cfg.adc_percentile <= 100))
    rc = mon_fail("cimsim: adc_percentile = %g: expected (0, 100]", R->cfg.adc_percentile);
  if (!rc && R->hw.in_range_static && !(R->cfg.in_percentile > 0 && R->cfg.in_percentile <= 100))
    rc = mon_fail("cimsim: in_percentile = %g: expected (0, 100]", R->cfg.in_percentile);
  if (!rc) rc = cim_noise_parse(&R->nz, R->cfg.noise);
  /* the IR-drop solver works on single devices; a pair line stores G+ - G- */
  if (!rc && R->nz.ir && R->hw.adc_per_pair)
    rc = mon_fail("cimsim: noise 'ir' with adc_per_pair = 1 is not supported (IR drop is solved "
                  "per device column; use adc_per_pair = 0)");
  if (rc) {
    free(R);
    return -1;
  }
  R->nsl = map_hw_slices(&R->hw);
  R->nsl_half = R->hw.differential ? R->nsl / 2 : R->nsl;
  R->ncv = map_hw_conv_lines(&R->hw);
  R->steps = map_hw_dac_steps(&R->hw);
  R->L = (1 << R->hw.cell_bits) - 1;
  R->qmax_w = (1 << (R->hw.w_bits - 1)) - 1;
  R->qmax_in = (1 << (R->hw.in_bits - 1)) - 1;
  R->key[0] = (uint32_t)R->cfg.seed, R->key[1] = (uint32_t)(R->cfg.seed >> 32);
  R->slice_w = malloc((size_t)R->ncv * sizeof *R->slice_w);
  for (int j = 0; R->slice_w && j < R->ncv; j++) {
    if (R->ncv != R->nsl) { /* per pair: line j is slice j, already signed */
      R->slice_w[j] = ldexp(1.0, j * R->hw.cell_bits);
      continue;
    }
    int s = R->hw.differential ? j / 2 : j;
    R->slice_w[j] = ldexp(R->hw.differential && (j % 2) ? -1.0 : 1.0, s * R->hw.cell_bits);
  }
  if (!R->slice_w) rc = mon_fail("cimsim: out of memory");
  if (!rc && map_build(&R->mp, mm, &R->hw, st, opt)) rc = -1;
  if (!rc && R->mp.shared_mvms) {
    map_mapping_destroy(&R->mp);
    rc = mon_fail("cimsim: the mapping shares row bands between layers (map_options.share_rows); "
                  "cimsim runs layer by layer: map without share_rows to simulate");
  }
  if (!rc && map_schedule(&R->cs, &R->mp, mm, &R->hw)) {
    map_mapping_destroy(&R->mp);
    rc = -1;
  }
  if (rc) {
    free(R->slice_w);
    free(R);
    return -1;
  }
  R->fac = calloc((size_t)R->mp.nfactors + 1, sizeof *R->fac);
  R->lay = calloc((size_t)mm->nlayers, sizeof *R->lay);
  R->dense = calloc((size_t)mm->nlayers, sizeof *R->dense);
  if (!R->fac || !R->lay || !R->dense)
    rc = mon_fail("cimsim: out of memory");
  else
    rc = compile(R);
  if (!rc) rc = cim_ir_apply(R);
  if (rc) {
    cim_runner_destroy(R);
    return -1;
  }
  *out = R;
  return 0;
}

void cim_runner_destroy(cim_runner *R) {
  if (!R) return;
  for (int i = 0; i < R->nblk; i++) {
    cblk *K = &R->blk[i];
    free(K->src), free(K->rows), free(K->G), free(K->V), free(K->aoff), free(K->again);
    free(K->srcx), free(K->rowsx), free(K->Gx), free(K->Gf);
    if (R->ref_G) free(R->ref_G[i]);
  }
  free(R->blk);
  free(R->ref_G);
  if (R->fac)
    for (int f = 0; f < R->mp.nfactors; f++) free(R->fac[f].cal);
  free(R->fac);
  if (R->lay)
    for (int l = 0; l < R->mm->nlayers; l++) free(R->lay[l].ops);
  free(R->lay);
  if (R->dense)
    for (int l = 0; l < R->mm->nlayers; l++) free(R->dense[l]);
  free(R->dense);
  free(R->slice_w);
  map_stream_destroy(&R->cs);
  map_mapping_destroy(&R->mp);
  free(R);
}

const map_mapping *cim_runner_mapping(const cim_runner *r) {
  return &r->mp;
}
const map_stream *cim_runner_stream(const cim_runner *r) {
  return &r->cs;
}

size_t cim_runner_state_bytes(const cim_runner *r) {
  size_t n = 0;
  for (int b = 0; b < r->nblk; b++) {
    const cblk *K = &r->blk[b];
    size_t N = (size_t)r->ncv * K->nc;
    n += (size_t)K->nr * N * (K->Gf ? sizeof *K->Gf : sizeof *K->G * (K->V ? 2 : 1));
    if (K->Gx) n += (size_t)K->nx * N * sizeof *K->Gx;
    if (K->aoff) n += N * (sizeof *K->aoff + sizeof *K->again);
  }
  return n;
}

int cim_runner_levels(const cim_runner *r, int array, float *out) {
  if (array < 0 || array >= r->mp.narrays)
    return mon_fail("cimsim: array %d out of range [0, %d)", array, r->mp.narrays);
  if (r->ncv != r->nsl)
    return mon_fail("cimsim: levels of single devices are not kept with adc_per_pair = 1 (a line "
                    "stores G+ - G-)");
  int W = r->nsl * r->hw.cols;
  for (size_t i = 0; i < (size_t)r->hw.rows * W; i++) out[i] = NAN;
  for (int b = 0; b < r->nblk; b++) {
    const cblk *K = &r->blk[b];
    if (K->array != array) continue;
    for (int i = 0; i < K->nr; i++)
      for (int j = 0; j < r->nsl; j++)
        for (int c = 0; c < K->nc; c++)
          out[(size_t)K->rows[i] * W + j * r->hw.cols + K->col0 + c] =
              K->Gf ? K->Gf[(size_t)i * r->nsl * K->nc + j * K->nc + c]
                    : cim_h2f(K->G[(size_t)i * r->nsl * K->nc + j * K->nc + c]);
  }
  return 0;
}
