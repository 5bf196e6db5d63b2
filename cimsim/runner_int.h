/* cimsim runner internals shared by runner.c (compilation, programming) and exec.c. */
#ifndef MONCIM_RUNNER_INT_H
#define MONCIM_RUNNER_INT_H

#include "cimsim_int.h"
#include "half.h"

enum { TAG_PROG = 1, TAG_PROG2 = 2, TAG_ADC = 3, TAG_READ = 4 };
enum { OP_FACTOR = 100 };

typedef struct {
  int nr, nc;      /* driven rows of the piece, converted columns */
  int32_t *src;    /* (nr) layer-relative buffer address of each row's input */
  int32_t *rows;   /* (nr) array row of each block row */
  int64_t dst0;    /* layer-relative buffer address of column 0's output (columns contiguous) */
  int64_t dstride; /* distance between consecutive columns' outputs (1, or a folded permute) */
  int factor;      /* mapping factor */
  int array, piece, step, row0, col0;
  /* ncv converted lines per weight (R->ncv): the device columns, or the G+ - G- pairs when the
   * ADC sits after the analog subtraction (hw.adc_per_pair) */
  /* The programmed state, in IEEE half precision (half.h; 2 bytes per converted line of a
   * weight, docs/analog-model.md "Programmed state"), or Gf below with IR drop: */
  uint16_t *G;  /* (nr, ncv * nc): level of line j (device, or G+ - G- pair) of row i, column c
                   at [i][j*nc + c] (read-noise variances of device lines are recomputed from
                   it: exec.c) */
  uint16_t *V;  /* (nr, ncv * nc): read-noise variance of a pair line (both devices; a difference
                   does not determine it), only with adc_per_pair and read-prop, else NULL */
  float *aoff;  /* (ncv * nc): static ADC offset (LSB) per converted line, or NULL */
  float *again; /* (ncv * nc): static ADC gain error per converted line, or NULL */
  /* IR drop (irdrop.c): rows driven in the same MVM outside the piece, whose cells on the
   * block's columns the wires couple in; nx = 0 without IR drop */
  int nx;
  int32_t *srcx, *rowsx; /* (nx) input address and array row of each */
  float *Gx;             /* (nx, nsl * nc) effective levels, as G (IR drop needs ncv = nsl) */
  /* (nr, nsl * nc) with IR drop, G's effective levels replace it in single precision: IR drop
   * is a small change of a level, which half precision would round away (G is then NULL) */
  float *Gf;
} cblk;

typedef struct {
  double sw;       /* weight quantization scale: W = sw * q */
  int64_t in_addr; /* layer-relative address of the factor's input vector */
  int in_len;      /* nb * bi floats */
  int blk0, nblk;  /* blocks runner.blk[blk0 .. +nblk) */
  float *cal;      /* (steps * ncv) calibrated |column sum| clip level, 0 = full scale */
  int calibrated;
  double in_scale;          /* hw.in_range_static: the factor's calibrated input scale, 0 = none */
  int64_t in_clip, in_seen; /* hw.in_range_static: input elements clipped / quantized */
  double alpha;             /* global drift compensation factor (1 = none) */
  int layer;
} cfac;

typedef struct {
  int op, sub;
  int64_t src, dst; /* layer-relative */
  int nrows, ncols, count;
  int64_t stride;
  int factor;
} cop;

typedef struct {
  int64_t lo, len; /* buffer addresses [lo, lo + len) used by the layer */
  int nops;
  cop *ops;
  double err_sum;
  long long err_n;
} clayer;

struct cim_runner {
  const map_model *mm;
  map_hw hw; /* as given, with `differential` set from cfg.encoding */
  cim_config cfg;
  cim_noise nz;
  map_mapping mp;
  map_stream cs;
  int nsl, nsl_half, ncv, steps, L, qmax_w, qmax_in;
  uint32_t key[2];
  int nblk, cap_blk;
  cblk *blk;
  cfac *fac; /* per mapping factor */
  clayer *lay;
  float **dense;   /* per model layer: materialised Monarch (Linear strategy on Monarch layers) */
  double *slice_w; /* (ncv) shift-add weight of each converted line */
  double ir_drop_max; /* largest first-order fractional IR drop of a cell (0 without `ir`) */
  float **ref_G;      /* per block: its levels in single precision, for cim_runner_sgemm_equiv */
};

/* Digit k (0 = least significant) of q in DAC steps of dac_bits, x = sum_k 2^(k dac_bits) d_k.
 * Two's complement: all digits are unsigned except the top one, which carries the sign: it is the
 * top group of bits read as a signed (two's complement) number. With dac_bits = 1 this is the
 * negative-weighted top bit. Sign-magnitude: d_k = sign(q) (group k of |q|), every step bipolar. */
static inline int cim_digit(const cim_runner *R, int32_t q, int k) {
  int D = R->hw.dac_bits, n = R->hw.in_bits;
  if (R->hw.in_sign_magnitude) {
    int m = (int)(((uint32_t)(q < 0 ? -q : q) >> (k * D)) & ((1u << D) - 1));
    return q < 0 ? -m : m;
  }
  uint32_t u = (uint32_t)q & (n >= 32 ? 0xffffffffu : ((1u << n) - 1));
  if (k < R->steps - 1) return (int)((u >> (k * D)) & ((1u << D) - 1));
  int w = n - D * (R->steps - 1);
  int t = (int)(u >> (D * (R->steps - 1)));
  return t - (((t >> (w - 1)) & 1) << w);
}

static inline void cim_digit_range(const cim_runner *R, int k, int *dmin, int *dmax) {
  int D = R->hw.dac_bits;
  if (R->hw.in_sign_magnitude) { /* the top step holds the remaining magnitude bits */
    int w = k < R->steps - 1 ? D : R->hw.in_bits - 1 - D * (R->steps - 1);
    *dmax = (1 << w) - 1, *dmin = -*dmax;
  } else if (k < R->steps - 1) {
    *dmin = 0, *dmax = (1 << D) - 1;
  } else {
    int w = R->hw.in_bits - D * (R->steps - 1);
    *dmin = -(1 << (w - 1)), *dmax = (1 << (w - 1)) - 1;
  }
}

static inline int cim_cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

#endif
