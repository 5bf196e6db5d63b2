/* GPT-2 forward / backward over batches of sequences and the loss/gradient entry point.
 *
 * Determinism: every kernel partitions its outputs so that one thread computes each element in
 * a fixed order (layers.h); reductions across rows (loss, gradient norm, embedding gradients)
 * run serially in row order; BLAS is called from outside parallel regions. */
#include "forward.h"
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void mon_ws_destroy(mon_workspace *w, int L) {
  if (!w) return;
  if (w->lw)
    for (int l = 0; l < L; l++) {
      mon_layer_ws *x = &w->lw[l];
      free(x->res), free(x->ln1), free(x->mu1), free(x->rs1), free(x->qkv), free(x->att);
      free(x->ay), free(x->mid), free(x->ln2), free(x->mu2), free(x->rs2), free(x->fc);
      free(x->gl);
      for (int k = 0; k < MON_LIN_KINDS; k++) free(x->tt[k]);
    }
  free(w->lw);
  free(w->tok), free(w->tgt), free(w->pred), free(w->loss);
  free(w->res_final), free(w->lnf), free(w->muf), free(w->rsf), free(w->logits), free(w->tmp);
  free(w->dres), free(w->dtmp), free(w->dln), free(w->dqkv), free(w->dbig1), free(w->dbig2);
  free(w->dlogits);
  free(w);
}

#define FA(n) malloc((size_t)(n) * sizeof(float))

mon_workspace *mon_ws_create(const mon_model *m, int B, int T, int train) {
  const mon_gpt2_config *c = &m->cfg;
  const size_t N = (size_t)B * T, d = c->n_embd, F = c->n_inner, V = c->vocab_size;
  const int L = c->n_layer, H = c->n_head;
  mon_workspace *w = calloc(1, sizeof *w);
  if (!w) goto oom;
  w->B = B, w->T = T, w->train = train;
  w->lw = calloc((size_t)L, sizeof(mon_layer_ws));
  w->tok = malloc(N * sizeof(int32_t));
  w->tgt = malloc(N * sizeof(int32_t));
  w->pred = malloc(N * sizeof(int32_t));
  w->loss = malloc(N * sizeof(double));
  w->res_final = FA(N * d), w->lnf = FA(N * d), w->muf = FA(N), w->rsf = FA(N);
  w->logits = FA(N * V), w->tmp = FA(N * d);
  if (!w->lw || !w->tok || !w->tgt || !w->pred || !w->loss || !w->res_final || !w->lnf || !w->muf ||
      !w->rsf || !w->logits || !w->tmp)
    goto oom;
  for (int l = 0; l < L; l++) {
    mon_layer_ws *x = &w->lw[l];
    x->res = FA(N * d), x->ln1 = FA(N * d), x->mu1 = FA(N), x->rs1 = FA(N);
    x->qkv = FA(N * 3 * d), x->ay = FA(N * d), x->mid = FA(N * d), x->ln2 = FA(N * d);
    x->mu2 = FA(N), x->rs2 = FA(N), x->fc = FA(N * F), x->gl = FA(N * F);
    x->att = train ? FA((size_t)B * H * T * T) : NULL;
    if (!x->res || !x->ln1 || !x->mu1 || !x->rs1 || !x->qkv || !x->ay || !x->mid || !x->ln2 ||
        !x->mu2 || !x->rs2 || !x->fc || !x->gl || (train && !x->att))
      goto oom;
    for (int k = 0; train && k < MON_LIN_KINDS; k++) {
      size_t tl = mon_linear_tt_len(mon_model_linear(m, l, (mon_lin_kind)k));
      if (tl && !(x->tt[k] = FA(N * tl))) goto oom;
    }
  }
  if (train) {
    w->dres = FA(N * d), w->dtmp = FA(N * d), w->dln = FA(N * d), w->dqkv = FA(N * 3 * d);
    w->dbig1 = FA(N * F), w->dbig2 = FA(N * F), w->dlogits = FA(N * V);
    if (!w->dres || !w->dtmp || !w->dln || !w->dqkv || !w->dbig1 || !w->dbig2 || !w->dlogits)
      goto oom;
  }
  return w;
oom:
  mon_ws_destroy(w, L);
  mon_fail("model: out of memory for a mon_workspace of %d x %d positions", B, T);
  return NULL;
}

static int linear(const mon_model *m, mon_workspace *w, int l, mon_lin_kind k, mon_linear_fn hook,
                  void *hctx, int64_t row0, const float *x, float *y) {
  const mon_linear *li = mon_model_linear(m, l, k);
  const int n = w->B * w->T;
  if (hook) {
    if (hook(hctx, l, k, li, row0, n, x, y))
      return mon_fail_ctx("model: hook for layer %d %s", l, mon_lin_kind_name(k));
  } else if (w->train) {
    return mon_linear_fwd(li, n, x, y, w->lw[l].tt[k]);
  } else if (li->is_monarch) {
    if (mon_monarch_apply(&li->m, n, x, y)) return -1;
  } else {
    mon_dense_apply(li->w, li->out, li->in, n, x, y);
  }
  const int out = li->out;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < out; j++) y[(size_t)i * out + j] += li->b[j];
  return 0;
}

static void add_into(size_t n, const float *a, const float *b, float *y) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/* Forward of w->B sequences of w->T tokens in w->tok; logits in w->logits; per-row loss and
 * top-1 in w->loss / w->pred; w->dlogits (training) = d(mean loss)/d logits. */
int mon_ws_forward(const mon_model *m, mon_workspace *w, mon_linear_fn hook, void *hctx,
                   int64_t row0) {
  const mon_gpt2_config *c = &m->cfg;
  const int B = w->B, T = w->T, N = B * T, d = c->n_embd, F = c->n_inner, L = c->n_layer;
  const float eps = (float)c->layer_norm_epsilon;
  float *x0 = w->lw[0].res;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; i++) {
    const float *e = m->wte + (size_t)w->tok[i] * d, *p = m->wpe + (size_t)(i % T) * d;
    for (int j = 0; j < d; j++) x0[(size_t)i * d + j] = e[j] + p[j];
  }
  for (int l = 0; l < L; l++) {
    mon_layer_ws *x = &w->lw[l];
    float *out = l + 1 < L ? w->lw[l + 1].res : w->res_final;
    mon_layernorm_fwd(N, d, eps, x->res, m->ln1_w + (size_t)l * d, m->ln1_b + (size_t)l * d, x->ln1,
                      x->mu1, x->rs1);
    if (linear(m, w, l, MON_LIN_QKV, hook, hctx, row0, x->ln1, x->qkv)) return -1;
    if (w->attn_bits) /* q, k, v per (token, head): rows of d / n_head floats */
      mon_quantize_rows(x->qkv, N * 3 * c->n_head, d / c->n_head, d / c->n_head, w->attn_bits);
    if (mon_attention_fwd(B, T, d, c->n_head, x->qkv, x->att, x->ay)) return -1;
    if (w->attn_bits)
      mon_quantize_rows(x->ay, N * c->n_head, d / c->n_head, d / c->n_head, w->attn_bits);
    if (linear(m, w, l, MON_LIN_ATTN_OUT, hook, hctx, row0, x->ay, w->tmp)) return -1;
    add_into((size_t)N * d, x->res, w->tmp, x->mid);
    mon_layernorm_fwd(N, d, eps, x->mid, m->ln2_w + (size_t)l * d, m->ln2_b + (size_t)l * d, x->ln2,
                      x->mu2, x->rs2);
    if (linear(m, w, l, MON_LIN_FC, hook, hctx, row0, x->ln2, x->fc)) return -1;
    mon_gelu_fwd((size_t)N * F, x->fc, x->gl);
    if (linear(m, w, l, MON_LIN_PROJ, hook, hctx, row0, x->gl, w->tmp)) return -1;
    add_into((size_t)N * d, x->mid, w->tmp, out);
  }
  mon_layernorm_fwd(N, d, eps, w->res_final, m->lnf_w, m->lnf_b, w->lnf, w->muf, w->rsf);
  /* tied head: logits (N, V) = lnf (N, d) wte^T; a weight-embedding product kept in float */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, c->vocab_size, d, 1.0f, w->lnf, d, m->wte,
              d, 0.0f, w->logits, c->vocab_size);
  mon_xent(N, c->vocab_size, w->logits, w->tgt, 1.0f / N, w->loss, w->pred,
           w->train ? w->dlogits : NULL);
  return 0;
}

int mon_ws_backward(const mon_model *m, mon_workspace *w, mon_model *g) {
  const mon_gpt2_config *c = &m->cfg;
  const int B = w->B, T = w->T, N = B * T, d = c->n_embd, F = c->n_inner, L = c->n_layer;
  const int V = c->vocab_size;
  /* head: dlnf = dlogits wte; dwte += dlogits^T lnf */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, d, V, 1.0f, w->dlogits, V, m->wte, d,
              0.0f, w->dln, d);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, d, N, 1.0f, w->dlogits, V, w->lnf, d,
              1.0f, g->wte, d);
  mon_layernorm_bwd(N, d, w->res_final, m->lnf_w, w->muf, w->rsf, w->dln, w->dres, g->lnf_w,
                    g->lnf_b);
  for (int l = L - 1; l >= 0; l--) {
    mon_layer_ws *x = &w->lw[l];
    const mon_linear *li = mon_model_linear(m, l, 0);
    mon_linear *gi = mon_model_linear(g, l, 0);
    /* MLP branch: out = mid + proj(gelu(fc(ln2(mid)))) */
    if (mon_linear_bwd(&li[MON_LIN_PROJ], N, x->gl, x->tt[MON_LIN_PROJ], w->dres, w->dbig1,
                       &gi[MON_LIN_PROJ]))
      return -1;
    mon_gelu_bwd((size_t)N * F, x->fc, w->dbig1, w->dbig2);
    if (mon_linear_bwd(&li[MON_LIN_FC], N, x->ln2, x->tt[MON_LIN_FC], w->dbig2, w->dln,
                       &gi[MON_LIN_FC]))
      return -1;
    mon_layernorm_bwd(N, d, x->mid, m->ln2_w + (size_t)l * d, x->mu2, x->rs2, w->dln, w->dtmp,
                      g->ln2_w + (size_t)l * d, g->ln2_b + (size_t)l * d);
    add_into((size_t)N * d, w->dres, w->dtmp, w->dres);
    /* attention branch: mid = res + attn_out(attention(qkv(ln1(res)))) */
    if (mon_linear_bwd(&li[MON_LIN_ATTN_OUT], N, x->ay, x->tt[MON_LIN_ATTN_OUT], w->dres, w->dln,
                       &gi[MON_LIN_ATTN_OUT]))
      return -1;
    if (mon_attention_bwd(B, T, d, c->n_head, x->qkv, x->att, w->dln, w->dqkv)) return -1;
    if (mon_linear_bwd(&li[MON_LIN_QKV], N, x->ln1, x->tt[MON_LIN_QKV], w->dqkv, w->dln,
                       &gi[MON_LIN_QKV]))
      return -1;
    mon_layernorm_bwd(N, d, x->res, m->ln1_w + (size_t)l * d, x->mu1, x->rs1, w->dln, w->dtmp,
                      g->ln1_w + (size_t)l * d, g->ln1_b + (size_t)l * d);
    add_into((size_t)N * d, w->dres, w->dtmp, w->dres);
  }
  /* embeddings: rows in order (serial scatter-add, no atomics) */
  for (int i = 0; i < N; i++) {
    float *e = g->wte + (size_t)w->tok[i] * d, *p = g->wpe + (size_t)(i % T) * d;
    const float *dr = w->dres + (size_t)i * d;
    for (int j = 0; j < d; j++) e[j] += dr[j], p[j] += dr[j];
  }
  return 0;
}

int mon_model_zero(mon_model *g) {
  int n = 5 + 16 * g->cfg.n_layer;
  mon_param *p = malloc((size_t)n * sizeof *p);
  if (!p) return mon_fail("model: out of memory for the parameter table");
  n = mon_model_params(g, p, n);
  for (int i = 0; i < n; i++) memset(p[i].data, 0, p[i].n * sizeof(float));
  free(p);
  return 0;
}

double mon_ws_mean_loss(const mon_workspace *w) {
  double s = 0;
  for (int i = 0; i < w->B * w->T; i++) s += w->loss[i];
  return s / (w->B * w->T);
}

int mon_model_loss_grad(const mon_model *m, const int32_t *tok, const int32_t *tgt, int B, int T,
                        double *loss, mon_model *grad) {
  mon_blas_serial();
  if (T < 1 || T > m->cfg.n_positions || B < 1)
    return mon_fail("model: %d sequences of %d tokens (context %d)", B, T, m->cfg.n_positions);
  mon_workspace *w = mon_ws_create(m, B, T, grad != NULL);
  if (!w) return -1;
  memcpy(w->tok, tok, (size_t)B * T * sizeof(int32_t));
  memcpy(w->tgt, tgt, (size_t)B * T * sizeof(int32_t));
  int rc = mon_ws_forward(m, w, NULL, NULL, 0);
  if (!rc) *loss = mon_ws_mean_loss(w);
  if (!rc && grad) rc = mon_model_zero(grad) || mon_ws_backward(m, w, grad) ? -1 : 0;
  mon_ws_destroy(w, m->cfg.n_layer);
  return rc;
}

/* ---------------------------------------------------------------- quantized attention */

void mon_quantize_rows(float *x, int n, int len, int stride, int bits) {
  const float qmax = (float)((1 << (bits - 1)) - 1);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    float *r = x + (size_t)i * stride, amax = 0.0f;
    for (int j = 0; j < len; j++) amax = fmaxf(amax, fabsf(r[j]));
    if (amax == 0.0f) continue;
    const float step = amax / qmax;
    for (int j = 0; j < len; j++) r[j] = nearbyintf(r[j] / step) * step;
  }
}
