/* Evaluation of the GPT-2 model on held-out text: bits per character and top-1. */
#include "forward.h"

#include <math.h>
#include <stdlib.h>

#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif

/* Default number of scored positions of mon_model_eval (documented in models/README.md). */
#define EVAL_DEFAULT_POSITIONS 16384
/* Default windows per evaluation forward chunk: 8 x 128 = 1024 rows per product. */
#define EVAL_DEFAULT_BATCH 8

int mon_model_eval(const mon_model *m, const uint8_t *text, size_t len, const mon_eval_opts *o,
                   mon_eval_result *r) {
  mon_blas_serial();
  const int T = m->cfg.n_positions;
  int64_t P = o && o->positions > 0 ? o->positions : EVAL_DEFAULT_POSITIONS;
  int batch = o && o->batch > 0 ? o->batch : EVAL_DEFAULT_BATCH;
  int64_t nwin = (P + T - 1) / T;
  if ((size_t)(nwin * T + 1) > len)
    return mon_fail("eval: %lld positions need %lld bytes of text (windows of %d), have %zu",
                    (long long)P, (long long)(nwin * T + 1), T, len);
  if (batch > nwin) batch = (int)nwin;
  int abits = o ? o->attn_bits : 0;
  if (abits && (abits < 2 || abits > 24))
    return mon_fail("eval: attn_bits %d: expected 0 (float) or 2..24", abits);
  mon_workspace *w = mon_ws_create(m, batch, T, 0);
  if (!w) return -1;
  w->attn_bits = abits;
  double sum = 0;
  int64_t correct = 0;
  int rc = 0;
  for (int64_t w0 = 0; w0 < nwin && !rc; w0 += batch) {
    int b = (int)(nwin - w0 < batch ? nwin - w0 : batch);
    w->B = b;
    const uint8_t *base = text + (size_t)w0 * T;
    if ((rc = mon_tokenize_bytes(m, base, (size_t)b * T, w->tok)) ||
        (rc = mon_tokenize_bytes(m, base + 1, (size_t)b * T, w->tgt)))
      break;
    if ((rc = mon_ws_forward(m, w, o ? o->hook : NULL, o ? o->hook_ctx : NULL, w0 * T))) break;
    for (int i = 0; i < b * T; i++) { /* serial, in position order */
      int64_t g = w0 * T + i;
      if (g >= P) break;
      sum += w->loss[i];
      correct += w->pred[i] == w->tgt[i];
      if (o && o->pred) o->pred[g] = w->pred[i];
    }
  }
  mon_ws_destroy(w, m->cfg.n_layer);
  if (rc) return -1;
  r->positions = P;
  r->bpc = sum / P / M_LN2;
  r->top1 = (double)correct / P;
  return 0;
}
