/* moncim kernels: dense and Monarch linear algebra and the dense -> Monarch projection.
 *
 * Conventions (see ../shared/DESIGN.md): a linear layer computes y = W x with W of shape
 * (out, in), row-major. Batched activations are (batch, features) row-major, so the batched
 * product is Y = X W^T. A Monarch matrix follows the layout of the public MonarchLinear
 * (blkdiag1 / blkdiag2), so checkpoints written by it load here unchanged.
 *
 * Functions that can fail return 0 / -1 with a message (base.h: mon_fail, mon_errmsg).
 */
#ifndef MONCIM_KERNELS_H
#define MONCIM_KERNELS_H

#include "base.h"

/* ---------------------------------------------------------------- dense */

/* OpenBLAS splits one product differently for different thread counts, and some splits change
 * the order of a reduction (on this project's 2-core test machine, sgemm 3x1000x2000 and sgemv
 * 100x4096 give other bits with 2 OpenBLAS threads than with 1). Results must not depend on
 * any thread setting, so moncim's kernels run OpenBLAS single-threaded and take their
 * parallelism from OpenMP over pieces whose decomposition does not depend on the thread count.
 * mon_blas_serial() makes OpenBLAS single-threaded for the rest of the process (called outside
 * parallel regions; a no-op inside one); every kernel entry point calls it. */
void mon_blas_serial(void);

/* y (out) = W (out, in) x (in), through CBLAS sgemv. */
void mon_dense_matvec(const float *w, int out, int in, const float *x, float *y);
/* Y (batch, out) = X (batch, in) W^T, W (out, in), through CBLAS sgemm. */
void mon_dense_apply(const float *w, int out, int in, int batch, const float *x, float *y);

/* ---------------------------------------------------------------- Monarch */

/* y = M x, M (out, in) as two block-diagonal factors with the Monarch permutation between them:
 *   stage 1: t[kk*q + qq]   = sum_pp w1[kk][qq][pp] * xpad[kk*p + pp]
 *   stage 2: y[ss*l + ll]   = sum_rr w2[ll][ss][rr] * t[rr*l + ll]
 * xpad is x padded with zeros to k*p; y is the first `out` entries of the l*s results. */
typedef struct {
  int in, out; /* logical sizes of M (out, in) */
  int nblocks; /* sparsity knob used to derive the shapes below */
  int k, q, p; /* blkdiag1 shape: k blocks of (q, p); k*p = in_pad >= in */
  int l, s, r; /* blkdiag2 shape: l blocks of (s, r); l*r = k*q; l*s = out_pad >= out */
  float *w1;   /* blkdiag1, (k, q, p) row-major */
  float *w2;   /* blkdiag2, (l, s, r) row-major */
} mon_monarch;

/* Fills the shape fields of m for MonarchLinear(in, out, nblocks) (w1/w2 left NULL):
 * in_blk = ceil(in/nb), out_blk = ceil(out/nb); if nb*in_blk < nb*out_blk then
 * w1 (nb, in_blk, in_blk), w2 (nb, out_blk, in_blk); else w1 (nb, out_blk, in_blk),
 * w2 (nb, out_blk, out_blk). Fails if nblocks < 1 or nblocks > min(in, out). */
int mon_monarch_shape(mon_monarch *m, int out, int in, int nblocks);
/* Shape as above, factors allocated and zeroed. Pair with mon_monarch_destroy. */
int mon_monarch_create(mon_monarch *m, int out, int in, int nblocks);
/* Shape from explicit factor shapes (as read from a checkpoint); factors allocated, zeroed. */
int mon_monarch_create_shaped(mon_monarch *m, int out, int in, int k, int q, int p, int l, int s,
                              int r);
void mon_monarch_destroy(mon_monarch *m);
size_t mon_monarch_w1_len(const mon_monarch *m); /* k*q*p */
size_t mon_monarch_w2_len(const mon_monarch *m); /* l*s*r */

/* Plain reference: loops exactly as the equations above. y (batch, out), x (batch, in). */
void mon_monarch_apply_ref(const mon_monarch *m, int batch, const float *x, float *y);
/* Fast version (per-block SGEMM, OpenMP over blocks); matches apply_ref to float rounding. */
int mon_monarch_apply(const mon_monarch *m, int batch, const float *x, float *y);
/* The dense matrix W (out, in) equal to M. */
void mon_monarch_to_dense(const mon_monarch *m, float *w);

/* Rank of the (ll, kk) sub-block of M: the number of intermediate indices j = kk*q + qq with
 * j % l == ll (j < k*q). For square, divisible sizes it is n / nblocks^2 for every block. */
int mon_monarch_block_rank(const mon_monarch *m, int ll, int kk);

typedef struct {
  double norm_fro;     /* ||D||_F over the logical (out, in) region */
  double err_fro;      /* ||D - M||_F over the logical region, measured */
  double rel_err;      /* err_fro / norm_fro (0 when D = 0) */
  double kept_sq;      /* sum of kept singular values squared, over all sub-blocks */
  double discarded_sq; /* sum of discarded singular values squared: equals err_fro^2 (the
                          projection is optimal per sub-block; zero padding rows/columns get zero
                          singular-vector entries, so the padding adds no error) */
} mon_project_info;

/* Nearest Monarch matrix to D (out, in) for the given nblocks: every strided sub-block
 * D[ss*l + ll][kk*p + pp] (s x p) gets its truncated SVD (LAPACKE sgesdd) at the rank
 * mon_monarch_block_rank(ll, kk). Allocates m (pair with mon_monarch_destroy). */
int mon_monarch_project(const float *d, int out, int in, int nblocks, mon_monarch *m,
                        mon_project_info *info);

/* Parameter and FLOP counts (a multiply-add counts as 2 FLOPs) per input vector. */
typedef struct {
  long long dense_params, monarch_params;
  long long dense_flops, monarch_flops;
} mon_counts;
void mon_monarch_counts(const mon_monarch *m, mon_counts *c);

#endif
