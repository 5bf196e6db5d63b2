/* Internal to model/: the forward/backward workspace shared by training (train.c),
 * evaluation (eval.c) and the loss/gradient entry point (forward.c). */
#ifndef MONCIM_MODEL_FORWARD_H
#define MONCIM_MODEL_FORWARD_H

#include "model.h"

typedef struct {
  float *res, *ln1, *mu1, *rs1, *qkv, *att, *ay, *mid, *ln2, *mu2, *rs2, *fc, *gl;
  float *tt[MON_LIN_KINDS];
} mon_layer_ws;

typedef struct {
  int B, T, train;
  int attn_bits; /* eval only: quantized attention operands (mon_eval_opts.attn_bits) */
  int32_t *tok, *tgt, *pred;
  double *loss;
  mon_layer_ws *lw; /* n_layer */
  float *res_final; /* (N, d) output of the last block */
  float *lnf, *muf, *rsf, *logits, *tmp;
  /* backward */
  float *dres, *dtmp, *dln, *dqkv, *dbig1, *dbig2, *dlogits;
} mon_workspace;

/* Workspace for B sequences of T tokens; train = 1 keeps what the backward needs. */
mon_workspace *mon_ws_create(const mon_model *m, int B, int T, int train);
void mon_ws_destroy(mon_workspace *w, int n_layer);
/* Forward of w->B sequences of w->T tokens in w->tok; logits in w->logits; per-row loss and
 * top-1 in w->loss / w->pred; w->dlogits (training) = d(mean loss)/d logits. A non-NULL hook
 * replaces every linear product (row0: global index of the first row, for counter-based noise). */
int mon_ws_forward(const mon_model *m, mon_workspace *w, mon_linear_fn hook, void *hctx,
                   int64_t row0);
/* Backward of the last forward: g (allocated like m) += d(mean loss)/d parameters. */
int mon_ws_backward(const mon_model *m, mon_workspace *w, mon_model *g);
double mon_ws_mean_loss(const mon_workspace *w);
/* Zeroes every parameter tensor of g. */
int mon_model_zero(mon_model *g);

#endif
