/* Layer kernels of the GPT-2 model (model/layers.c): forward and backward of LayerNorm, GELU,
 * causal multi-head attention, dense / Monarch linear layers and the softmax cross-entropy.
 * Internal to model/, exposed for the gradient checks of tests/test_model.c.
 *
 * Conventions: activations are (n, features) row-major. Backward functions OVERWRITE the
 * activation gradient (dx) and ACCUMULATE (+=) parameter gradients, so a caller zeroes the
 * parameter gradients once per step. Every output element is computed by exactly one thread in
 * a fixed order (OpenMP over rows / (batch, head) / columns, reductions serial), so results do
 * not depend on the number of threads; BLAS calls are made from outside parallel regions. */
#ifndef MONCIM_LAYERS_H
#define MONCIM_LAYERS_H

#include "model.h"

/* y = (x - mean) * rstd * g + b per row; mean/rstd (n) saved for the backward (may be NULL). */
void mon_layernorm_fwd(int n, int d, float eps, const float *x, const float *g, const float *b,
                       float *y, float *mean, float *rstd);
void mon_layernorm_bwd(int n, int d, const float *x, const float *g, const float *mean,
                       const float *rstd, const float *dy, float *dx, float *dg, float *db);

/* GPT-2's GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void mon_gelu_fwd(size_t n, const float *x, float *y);
void mon_gelu_bwd(size_t n, const float *x, const float *dy, float *dx);

/* Causal multi-head self-attention core on qkv (B*T, 3d) = [q | k | v], head h using columns
 * h*hd .. h*hd+hd-1 of each part: y (B*T, d) = softmax(q k^T / sqrt(hd), causal) v per (b, h).
 * att (B, H, T, T) receives the probabilities (needed by the backward; may be NULL in eval).
 * 0 / -1 (out of memory). */
int mon_attention_fwd(int B, int T, int d, int H, const float *qkv, float *att, float *y);
int mon_attention_bwd(int B, int T, int d, int H, const float *qkv, const float *att,
                      const float *dy, float *dqkv);

/* Monarch stage intermediate width k*q (the "tt" buffer of mon_linear_fwd per row). */
size_t mon_linear_tt_len(const mon_linear *l);
/* y (n, out) = x (n, in) W^T + b. For a Monarch layer, tt (n, k*q) receives the permuted
 * stage-1 output for the backward (NULL: not kept). 0 / -1 (out of memory). */
int mon_linear_fwd(const mon_linear *l, int n, const float *x, float *y, float *tt);
/* dx (n, in) = dy W (may be NULL: not needed); grad->w (or grad->m.w1/w2) and grad->b += the
 * parameter gradients. tt as saved by mon_linear_fwd (NULL: recomputed). */
int mon_linear_bwd(const mon_linear *l, int n, const float *x, const float *tt, const float *dy,
                   float *dx, mon_linear *grad);

/* Softmax cross-entropy of logits (n, V) against targets (n): loss[i] in nats; pred[i] the
 * argmax (first on ties); dlogits (may be NULL) = (softmax - onehot) * scale. */
void mon_xent(int n, int V, const float *logits, const int32_t *tgt, float scale, double *loss,
              int32_t *pred, float *dlogits);

#endif
