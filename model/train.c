/* AdamW training of the GPT-2 model on random windows of a text. */
#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---------------------------------------------------------------- training */

void mon_train_opts_default(mon_train_opts *o) {
  memset(o, 0, sizeof *o);
  /* AdamW / cosine defaults in the range of nanoGPT's character-level Shakespeare config */
  o->steps = 1000, o->batch = 16, o->warmup = 100;
  o->lr = 1e-3, o->min_lr = 1e-4;
  o->weight_decay = 0.1, o->beta1 = 0.9, o->beta2 = 0.99, o->eps = 1e-8, o->clip = 1.0;
  o->seed = 1;
  o->log_every = 50;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int mon_model_train(mon_model *m, const uint8_t *text, size_t len, const mon_train_opts *o,
                    double *final_loss) {
  const int T = m->cfg.n_positions, B = o->batch, L = m->cfg.n_layer;
  if (B < 1 || o->steps < 0) return mon_fail("train: batch %d, steps %d", B, o->steps);
  if (!m->tok) return mon_fail("train: the model has no tokenizer");
  if (o->steps == 0) { /* nothing to do: allocate nothing (a GPT-2-medium state is ~6 GB) */
    if (final_loss) *final_loss = NAN;
    return 0;
  }
  int32_t *ids = NULL;
  mon_model g, am, av;
  memset(&g, 0, sizeof g), memset(&am, 0, sizeof am), memset(&av, 0, sizeof av);
  mon_workspace *w = NULL;
  mon_param *pp = NULL, *pg = NULL, *pm = NULL, *pv = NULL;
  int rc = -1, np = 5 + 16 * L;
  if (mon_tokenizer_encode(m->tok, text, len, &ids, &len)) {
    mon_fail_ctx("train");
    goto out;
  }
  if (len < (size_t)T + 2) {
    mon_fail("train: text of %zu tokens is shorter than a window (%d)", len, T + 1);
    goto out;
  }
  if (mon_model_alloc(&g, &m->cfg, NULL) || mon_model_alloc(&am, &m->cfg, NULL) ||
      mon_model_alloc(&av, &m->cfg, NULL))
    goto out;
  if (mon_model_zero(&am) || mon_model_zero(&av)) goto out;
  if (!(w = mon_ws_create(m, B, T, 1))) goto out;
  pp = malloc((size_t)np * sizeof *pp), pg = malloc((size_t)np * sizeof *pg);
  pm = malloc((size_t)np * sizeof *pm), pv = malloc((size_t)np * sizeof *pv);
  if (!pp || !pg || !pm || !pv) {
    mon_fail("train: out of memory");
    goto out;
  }
  np = mon_model_params(m, pp, np);
  mon_model_params(&g, pg, np), mon_model_params(&am, pm, np), mon_model_params(&av, pv, np);
  uint64_t rng = o->seed;
  double t0 = now_s(), loss = 0;
  for (int step = 0; step < o->steps; step++) {
    for (int b = 0; b < B; b++) {
      size_t off = (size_t)(mon_splitmix64(&rng) % (uint64_t)(len - T - 1));
      memcpy(w->tok + (size_t)b * T, ids + off, (size_t)T * sizeof(int32_t));
      memcpy(w->tgt + (size_t)b * T, ids + off + 1, (size_t)T * sizeof(int32_t));
    }
    if (mon_model_zero(&g) || mon_ws_forward(m, w, NULL, NULL, 0) || mon_ws_backward(m, w, &g))
      goto out;
    loss = mon_ws_mean_loss(w);
    double nsq = 0;
    for (int i = 0; i < np; i++)
      for (size_t j = 0; j < pg[i].n; j++) nsq += (double)pg[i].data[j] * pg[i].data[j];
    double gn = sqrt(nsq);
    if (!isfinite(gn) || !isfinite(loss)) {
      mon_fail("train: step %d: loss %g, gradient norm %g are not finite", step, loss, gn);
      goto out;
    }
    float gs = (float)(o->clip > 0 && gn > o->clip ? o->clip / gn : 1.0);
    double lr;
    if (step < o->warmup)
      lr = o->lr * (step + 1) / o->warmup;
    else {
      double pr = o->steps > o->warmup ? (double)(step - o->warmup) / (o->steps - o->warmup) : 1;
      lr = o->min_lr + 0.5 * (o->lr - o->min_lr) * (1 + cos(M_PI * pr));
    }
    const float b1 = (float)o->beta1, b2 = (float)o->beta2;
    const float bc1 = (float)(1 - pow(o->beta1, step + 1)),
                bc2 = (float)(1 - pow(o->beta2, step + 1));
    for (int i = 0; i < np; i++) {
      float *p = pp[i].data, *gg = pg[i].data, *mm = pm[i].data, *vv = pv[i].data;
      const float wd = pp[i].decay ? (float)(lr * o->weight_decay) : 0.0f, flr = (float)lr;
      const float feps = (float)o->eps;
      const size_t n = pp[i].n;
#pragma omp parallel for schedule(static)
      for (size_t j = 0; j < n; j++) {
        float gj = gg[j] * gs;
        mm[j] = b1 * mm[j] + (1 - b1) * gj;
        vv[j] = b2 * vv[j] + (1 - b2) * gj * gj;
        float mh = mm[j] / bc1, vh = vv[j] / bc2;
        p[j] -= flr * (mh / (sqrtf(vh) + feps)) + wd * p[j];
      }
    }
    if (o->progress && o->log_every > 0 && ((step + 1) % o->log_every == 0 || step + 1 == o->steps))
      o->progress(o->progress_ctx, step + 1, lr, loss, gn, now_s() - t0);
  }
  if (final_loss) *final_loss = loss;
  rc = 0;
out:
  free(ids), free(pp), free(pg), free(pm), free(pv);
  mon_ws_destroy(w, L);
  mon_model_destroy(&g), mon_model_destroy(&am), mon_model_destroy(&av);
  return rc;
}
