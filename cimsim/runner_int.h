/* cimsim runner internals shared by runner.c (compilation, programming) and exec.c. */
#ifndef MONCIM_RUNNER_INT_H
#define MONCIM_RUNNER_INT_H

#include "cimsim_int.h"

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
  float *G;     /* (nr, nsl * nc): level of device (row i, slice j, column c) at [i][j*nc + c]; the
                  whole programmed state: 4 bytes per device, nsl devices per weight (read-noise
                  variances are recomputed from it: exec.c) */
  float *aoff;  /* (nsl * nc): static ADC offset (LSB) per converted bitline, or NULL */
  float *again; /* (nsl * nc): static ADC gain error per converted bitline, or NULL */
  /* IR drop (irdrop.c): rows driven in the same MVM outside the piece, whose cells on the
   * block's columns the wires couple in; nx = 0 without IR drop */
  int nx;
  int32_t *srcx, *rowsx; /* (nx) input address and array row of each */
  float *Gx;             /* (nx, nsl * nc) effective levels, as G */
} cblk;

typedef struct {
  double sw;       /* weight quantization scale: W = sw * q */
  int64_t in_addr; /* layer-relative address of the factor's input vector */
  int in_len;      /* nb * bi floats */
  int blk0, nblk;  /* blocks runner.blk[blk0 .. +nblk) */
  float *cal;      /* (steps * nsl) calibrated |column sum| clip level, 0 = full scale */
  int calibrated;
  double alpha; /* global drift compensation factor (1 = none) */
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
  int nsl, nsl_half, steps, L, qmax_w, qmax_in;
  uint32_t key[2];
  int nblk, cap_blk;
  cblk *blk;
  cfac *fac; /* per mapping factor */
  clayer *lay;
  float **dense;   /* per model layer: materialised Monarch (Linear strategy on Monarch layers) */
  double *slice_w; /* (nsl) shift-add weight of each device column */
  double ir_drop_max; /* largest first-order fractional IR drop of a cell (0 without `ir`) */
};

/* Digit k (0 = least significant) of the in_bits two's complement pattern of q, in DAC steps of
 * dac_bits. All digits are unsigned except the top one, which carries the sign: it is the top
 * group of bits read as a signed (two's complement) number, so x = sum_k 2^(k dac_bits) d_k.
 * With dac_bits = 1 this is the negative-weighted top bit. */
static inline int cim_digit(const cim_runner *R, int32_t q, int k) {
  int D = R->hw.dac_bits, n = R->hw.in_bits;
  uint32_t u = (uint32_t)q & (n >= 32 ? 0xffffffffu : ((1u << n) - 1));
  if (k < R->steps - 1) return (int)((u >> (k * D)) & ((1u << D) - 1));
  int w = n - D * (R->steps - 1);
  int t = (int)(u >> (D * (R->steps - 1)));
  return t - (((t >> (w - 1)) & 1) << w);
}

static inline void cim_digit_range(const cim_runner *R, int k, int *dmin, int *dmax) {
  int D = R->hw.dac_bits;
  if (k < R->steps - 1) {
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
