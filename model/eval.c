/* Evaluation of the GPT-2 model on text: bits per byte, perplexity and top-1 of next-token
 * predictions over strided windows (model.h: mon_model_eval). */
#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif

/* Default number of scored positions of mon_model_eval (documented in models/README.md). */
#define EVAL_DEFAULT_POSITIONS 16384
/* Default windows per evaluation forward chunk: 8 x 128 = 1024 rows per product. */
#define EVAL_DEFAULT_BATCH 8

int mon_model_eval_ids(const mon_model *m, const int32_t *ids, size_t n, const mon_eval_opts *o,
                       mon_eval_result *r) {
  mon_blas_serial();
  int T = o && o->context > 0 ? o->context : m->cfg.n_positions;
  if (T > m->cfg.n_positions)
    return mon_fail("eval: context %d is longer than the model's n_positions %d", T,
                    m->cfg.n_positions);
  int S = o && o->stride > 0 ? o->stride : T;
  if (S > T) return mon_fail("eval: stride %d is longer than the context %d", S, T);
  int64_t P = !o || o->positions == 0 ? EVAL_DEFAULT_POSITIONS
              : o->positions < 0      ? (int64_t)n - 1
                                      : o->positions;
  if (P < 1 || (size_t)P + 1 > n)
    return mon_fail("eval: %lld positions need %lld tokens of text, have %zu", (long long)P,
                    (long long)P + 1, n);
  for (size_t i = 0; i < (size_t)P + 1; i++)
    if (ids[i] < 0 || ids[i] >= m->cfg.vocab_size)
      return mon_fail("eval: token id %d at position %zu is outside the model's vocabulary "
                      "(vocab_size %d)",
                      ids[i], i, m->cfg.vocab_size);
  if (T > P) T = (int)P, S = S > T ? T : S; /* short text: one window of all of it */
  /* window starts: 0, S, 2S, ... while the window ends before the last target; then one
   * window ending exactly at it */
  int64_t nwin = 1;
  while ((nwin - 1) * S + T < P) nwin++;
  int batch = o && o->batch > 0 ? o->batch : EVAL_DEFAULT_BATCH;
  if (batch > nwin) batch = (int)nwin;
  int abits = o ? o->attn_bits : 0;
  if (abits && (abits < 2 || abits > 24))
    return mon_fail("eval: attn_bits %d: expected 0 (float) or 2..24", abits);
  mon_workspace *w = mon_ws_create(m, batch, T, 0);
  if (!w) return -1;
  w->attn_bits = abits;
  double sum = 0;
  int64_t correct = 0, scored = 0, bytes = 0;
  int rc = 0;
  for (int64_t w0 = 0; w0 < nwin && !rc; w0 += batch) {
    int b = (int)(nwin - w0 < batch ? nwin - w0 : batch);
    w->B = b;
    for (int k = 0; k < b; k++) {
      int64_t st = (w0 + k) * S;
      if (st + T > P) st = P - T;
      memcpy(w->tok + (size_t)k * T, ids + st, (size_t)T * sizeof(int32_t));
      memcpy(w->tgt + (size_t)k * T, ids + st + 1, (size_t)T * sizeof(int32_t));
    }
    if ((rc = mon_ws_forward(m, w, o ? o->hook : NULL, o ? o->hook_ctx : NULL, w0 * T))) break;
    for (int k = 0; k < b; k++) { /* serial, in target order */
      int64_t st = (w0 + k) * S;
      if (st + T > P) st = P - T;
      /* row i predicts target st + i + 1; score the targets after the last one scored */
      for (int64_t i = scored - st; i < T; i++) {
        size_t row = (size_t)k * T + (size_t)i, nb = 1;
        sum += w->loss[row];
        correct += w->pred[row] == w->tgt[row];
        if (m->tok) mon_tokenizer_token(m->tok, w->tgt[row], &nb);
        bytes += (int64_t)nb;
        if (o && o->pred) o->pred[scored] = w->pred[row];
        scored++;
      }
    }
  }
  mon_ws_destroy(w, m->cfg.n_layer);
  if (rc) return -1;
  r->positions = scored;
  r->bytes = bytes;
  r->bpc = bytes ? sum / bytes / M_LN2 : 0;
  r->perplexity = exp(sum / scored);
  r->top1 = (double)correct / scored;
  return 0;
}

int mon_model_eval(const mon_model *m, const uint8_t *text, size_t len, const mon_eval_opts *o,
                   mon_eval_result *r) {
  if (!m->tok)
    return mon_fail("eval: the model has no tokenizer (a hub checkpoint needs vocab.json and "
                    "merges.txt next to config.json)");
  int32_t *ids;
  size_t n;
  if (mon_tokenizer_encode(m->tok, text, len, &ids, &n)) return mon_fail_ctx("eval");
  int rc = mon_model_eval_ids(m, ids, n, o, r);
  free(ids);
  return rc;
}
