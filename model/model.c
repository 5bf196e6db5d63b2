/* GPT-2 model: allocation, initialisation, parameter table, checkpoints (HF GPT-2 names),
 * dense-to-sparse projection, parameter and FLOP counts. */
#include "model.h"

#include <errno.h>
#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Safetensors "__metadata__" key holding the vocabulary: token ids' bytes, comma-separated. */
#define VOCAB_META_KEY "moncim_vocab"
#define MAX_PARAMS(L)  (5 + 4 * (L) + 4 * 3 * (L))

static const char *kind_names[MON_LIN_KINDS] = {"qkv", "attn_out", "fc", "proj"};
static const char *kind_hf[MON_LIN_KINDS] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc",
                                             "mlp.c_proj"};

const char *mon_lin_kind_name(mon_lin_kind k) {
  return (unsigned)k < MON_LIN_KINDS ? kind_names[k] : "?";
}

static void lin_dims(const mon_gpt2_config *c, mon_lin_kind k, int *out, int *in) {
  int d = c->n_embd, f = c->n_inner;
  switch (k) {
  case MON_LIN_QKV:
    *out = 3 * d, *in = d;
    break;
  case MON_LIN_ATTN_OUT:
    *out = d, *in = d;
    break;
  case MON_LIN_FC:
    *out = f, *in = d;
    break;
  default:
    *out = d, *in = f;
    break;
  }
}

void mon_model_destroy(mon_model *m) {
  if (!m) return;
  mon_tokenizer_destroy(m->tok);
  free(m->wte), free(m->wpe), free(m->ln1_w), free(m->ln1_b), free(m->ln2_w), free(m->ln2_b);
  free(m->lnf_w), free(m->lnf_b);
  if (m->lin) {
    for (int i = 0; i < m->cfg.n_layer * MON_LIN_KINDS; i++) {
      free(m->lin[i].w);
      free(m->lin[i].b);
      mon_monarch_destroy(&m->lin[i].m);
    }
    free(m->lin);
  }
  memset(m, 0, sizeof *m);
}

static int check_config(const mon_gpt2_config *c) {
  if (c->vocab_size < 1) return mon_fail("model: vocab_size %d, expected >= 1", c->vocab_size);
  if (c->n_embd < 1 || c->n_head < 1 || c->n_embd % c->n_head)
    return mon_fail("model: n_embd %d must be a positive multiple of n_head %d", c->n_embd,
                    c->n_head);
  if (c->n_layer < 1 || c->n_positions < 1 || c->n_inner < 1)
    return mon_fail("model: n_layer %d, n_positions %d, n_inner %d must be positive", c->n_layer,
                    c->n_positions, c->n_inner);
  return 0;
}

int mon_model_alloc(mon_model *m, const mon_gpt2_config *c, const uint8_t *bytes) {
  memset(m, 0, sizeof *m);
  if (check_config(c)) return -1;
  m->cfg = *c;
  for (int i = 0; i < 256; i++) m->vocab[i] = -1;
  if (bytes && c->vocab_size > 256)
    return mon_fail("model: vocab_size %d, expected 1..256 for a character vocabulary",
                    c->vocab_size);
  if (bytes && mon_tokenizer_chars(&m->tok, bytes, c->vocab_size)) return -1;
  for (int i = 0; bytes && i < c->vocab_size; i++) { /* distinct: mon_tokenizer_chars checked */
    m->vocab[bytes[i]] = i;
    m->bytes[i] = bytes[i];
  }
  const size_t d = (size_t)c->n_embd, L = (size_t)c->n_layer;
  m->wte = calloc((size_t)c->vocab_size * d, sizeof(float));
  m->wpe = calloc((size_t)c->n_positions * d, sizeof(float));
  m->ln1_w = malloc(L * d * sizeof(float));
  m->ln1_b = calloc(L * d, sizeof(float));
  m->ln2_w = malloc(L * d * sizeof(float));
  m->ln2_b = calloc(L * d, sizeof(float));
  m->lnf_w = malloc(d * sizeof(float));
  m->lnf_b = calloc(d, sizeof(float));
  m->lin = calloc(L * MON_LIN_KINDS, sizeof(mon_linear));
  if (!m->wte || !m->wpe || !m->ln1_w || !m->ln1_b || !m->ln2_w || !m->ln2_b || !m->lnf_w ||
      !m->lnf_b || !m->lin) {
    mon_model_destroy(m);
    return mon_fail("model: out of memory");
  }
  for (size_t i = 0; i < L * d; i++) m->ln1_w[i] = m->ln2_w[i] = 1.0f;
  for (size_t i = 0; i < d; i++) m->lnf_w[i] = 1.0f;
  for (int l = 0; l < c->n_layer; l++)
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      mon_linear *li = mon_model_linear(m, l, (mon_lin_kind)k);
      lin_dims(c, (mon_lin_kind)k, &li->out, &li->in);
      li->b = calloc((size_t)li->out, sizeof(float));
      int bad = !li->b;
      if (c->monarch_nblocks > 0) {
        li->is_monarch = 1;
        if (mon_monarch_create(&li->m, li->out, li->in, c->monarch_nblocks)) {
          mon_fail_ctx("model: layer %d %s", l, kind_names[k]);
          mon_model_destroy(m);
          return -1;
        }
      } else {
        li->w = calloc((size_t)li->out * li->in, sizeof(float));
        bad |= !li->w;
      }
      if (bad) {
        mon_model_destroy(m);
        return mon_fail("model: out of memory");
      }
    }
  return 0;
}

int mon_vocab_build(const uint8_t *text, size_t len, uint8_t bytes[256]) {
  int seen[256] = {0}, n = 0;
  for (size_t i = 0; i < len; i++) seen[text[i]] = 1;
  for (int b = 0; b < 256; b++)
    if (seen[b]) bytes[n++] = (uint8_t)b;
  return n;
}

/* ---------------------------------------------------------------- parameter table */

static void put(mon_param *o, int *n, int max, const char *name, float *data, int ndim, int64_t a,
                int64_t b, int64_t c, int conv1d, int decay) {
  if (*n >= max) return;
  mon_param *p = &o[(*n)++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->data = data;
  p->ndim = ndim;
  p->shape[0] = a, p->shape[1] = b, p->shape[2] = c;
  p->n = (size_t)a * (ndim > 1 ? b : 1) * (ndim > 2 ? c : 1);
  p->conv1d = conv1d;
  p->decay = decay;
}

int mon_model_params(const mon_model *m, mon_param *o, int max) {
  const mon_gpt2_config *c = &m->cfg;
  const int64_t d = c->n_embd;
  int n = 0;
  char nm[MON_NAME_MAX];
  put(o, &n, max, "wte.weight", m->wte, 2, c->vocab_size, d, 0, 0, 1);
  put(o, &n, max, "wpe.weight", m->wpe, 2, c->n_positions, d, 0, 0, 1);
  for (int l = 0; l < c->n_layer; l++) {
    snprintf(nm, sizeof nm, "h.%d.ln_1.weight", l);
    put(o, &n, max, nm, m->ln1_w + l * d, 1, d, 0, 0, 0, 0);
    snprintf(nm, sizeof nm, "h.%d.ln_1.bias", l);
    put(o, &n, max, nm, m->ln1_b + l * d, 1, d, 0, 0, 0, 0);
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      if (k == MON_LIN_FC) {
        snprintf(nm, sizeof nm, "h.%d.ln_2.weight", l);
        put(o, &n, max, nm, m->ln2_w + l * d, 1, d, 0, 0, 0, 0);
        snprintf(nm, sizeof nm, "h.%d.ln_2.bias", l);
        put(o, &n, max, nm, m->ln2_b + l * d, 1, d, 0, 0, 0, 0);
      }
      const mon_linear *li = mon_model_linear(m, l, (mon_lin_kind)k);
      if (li->is_monarch) {
        const mon_monarch *mm = &li->m;
        snprintf(nm, sizeof nm, "h.%d.%s.blkdiag1", l, kind_hf[k]);
        put(o, &n, max, nm, mm->w1, 3, mm->k, mm->q, mm->p, 0, 1);
        snprintf(nm, sizeof nm, "h.%d.%s.blkdiag2", l, kind_hf[k]);
        put(o, &n, max, nm, mm->w2, 3, mm->l, mm->s, mm->r, 0, 1);
      } else {
        snprintf(nm, sizeof nm, "h.%d.%s.weight", l, kind_hf[k]);
        put(o, &n, max, nm, li->w, 2, li->out, li->in, 0, 1, 1);
      }
      snprintf(nm, sizeof nm, "h.%d.%s.bias", l, kind_hf[k]);
      put(o, &n, max, nm, li->b, 1, li->out, 0, 0, 0, 0);
    }
  }
  put(o, &n, max, "ln_f.weight", m->lnf_w, 1, d, 0, 0, 0, 0);
  put(o, &n, max, "ln_f.bias", m->lnf_b, 1, d, 0, 0, 0, 0);
  return n;
}

static mon_param *param_table(const mon_model *m, int *n) {
  int max = MAX_PARAMS(m->cfg.n_layer);
  mon_param *p = malloc((size_t)max * sizeof *p);
  if (!p) {
    mon_fail("model: out of memory");
    return NULL;
  }
  *n = mon_model_params(m, p, max);
  return p;
}

long long mon_model_nparams(const mon_model *m) {
  int n;
  mon_param *p = param_table(m, &n);
  if (!p) return -1;
  long long s = 0;
  for (int i = 0; i < n; i++) s += (long long)p[i].n;
  free(p);
  return s;
}

double mon_model_flops_per_token(const mon_model *m) {
  const mon_gpt2_config *c = &m->cfg;
  double f = 0;
  for (int l = 0; l < c->n_layer; l++)
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      const mon_linear *li = mon_model_linear(m, l, (mon_lin_kind)k);
      if (li->is_monarch) {
        mon_counts cnt;
        mon_monarch_counts(&li->m, &cnt);
        f += (double)cnt.monarch_flops;
      } else {
        f += 2.0 * li->out * li->in;
      }
    }
  f += 2.0 * c->vocab_size * c->n_embd;                                     /* tied head */
  f += (double)c->n_layer * 2 * 2.0 * c->n_embd * (c->n_positions + 1) / 2; /* q.k and p.v */
  return f;
}

/* ---------------------------------------------------------------- initialisation */

static double gauss(uint64_t *s) { /* Box-Muller */
  double u1 = ((mon_splitmix64(s) >> 11) + 1.0) / 9007199254740993.0;
  double u2 = (mon_splitmix64(s) >> 11) / 9007199254740992.0;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void fill(float *w, size_t n, double sd, uint64_t *s) {
  for (size_t i = 0; i < n; i++) w[i] = (float)(sd * gauss(s));
}

void mon_model_init_random(mon_model *m, uint64_t seed) {
  const mon_gpt2_config *c = &m->cfg;
  uint64_t s = seed;
  const double sd = 0.02; /* GPT-2 (Radford et al. 2019; HF initializer_range) */
  fill(m->wte, (size_t)c->vocab_size * c->n_embd, sd, &s);
  fill(m->wpe, (size_t)c->n_positions * c->n_embd, sd / 2, &s); /* HF GPT-2: wpe std 0.01 */
  for (int l = 0; l < c->n_layer; l++)
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      mon_linear *li = mon_model_linear(m, l, (mon_lin_kind)k);
      /* GPT-2 paper: residual projections scaled by 1/sqrt(N), N = 2 n_layer residual adds */
      double sdk = (k == MON_LIN_ATTN_OUT || k == MON_LIN_PROJ) ? sd / sqrt(2.0 * c->n_layer) : sd;
      memset(li->b, 0, (size_t)li->out * sizeof(float));
      if (li->is_monarch) {
        /* stage 1 unit gain per input (var 1/p); stage 2 sums r terms: var sdk^2 in / r keeps
         * each output's variance at in * sdk^2, like the dense layer */
        mon_monarch *mm = &li->m;
        fill(mm->w1, mon_monarch_w1_len(mm), 1.0 / sqrt((double)mm->p), &s);
        fill(mm->w2, mon_monarch_w2_len(mm), sdk * sqrt((double)li->in / mm->r), &s);
      } else {
        fill(li->w, (size_t)li->out * li->in, sdk, &s);
      }
    }
}

/* ---------------------------------------------------------------- dense -> Monarch */

int mon_model_to_monarch(mon_model *m, int nblocks, double *rel_err) {
  double err = 0;
  int cnt = 0;
  for (int l = 0; l < m->cfg.n_layer; l++)
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      mon_linear *li = mon_model_linear(m, l, (mon_lin_kind)k);
      if (li->is_monarch)
        return mon_fail("d2s: layer %d %s is already Monarch (nblocks %d)", l, kind_names[k],
                        li->m.nblocks);
      mon_monarch mm;
      mon_project_info info;
      if (mon_monarch_project(li->w, li->out, li->in, nblocks, &mm, &info))
        return mon_fail_ctx("d2s: layer %d %s", l, kind_names[k]);
      free(li->w);
      li->w = NULL;
      li->m = mm;
      li->is_monarch = 1;
      err += info.rel_err;
      cnt++;
    }
  m->cfg.monarch_nblocks = nblocks;
  if (rel_err) *rel_err = cnt ? err / cnt : 0;
  return 0;
}

/* ---------------------------------------------------------------- checkpoints */

static int join(char *buf, size_t n, const char *dir, const char *file) {
  if ((size_t)snprintf(buf, n, "%s/%s", dir, file) >= n) return mon_fail("%s: path too long", dir);
  return 0;
}

int mon_model_save(const mon_model *m, const char *dir) {
  char path[4096];
  if (mkdir(dir, 0777) && errno != EEXIST)
    return mon_fail("%s: cannot create directory: %s", dir, strerror(errno));
  int n;
  mon_param *p = param_table(m, &n);
  if (!p) return -1;
  mon_st_writer *w = mon_st_writer_create();
  float **tmp = calloc((size_t)n, sizeof(float *));
  int rc = -1;
  if (!w || !tmp) {
    mon_fail("model: out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    int64_t shape[3] = {p[i].shape[0], p[i].shape[1], p[i].shape[2]};
    const float *data = p[i].data;
    if (p[i].conv1d) { /* HF Conv1D stores (in, out) */
      int64_t o = shape[0], in = shape[1];
      tmp[i] = malloc(p[i].n * sizeof(float));
      if (!tmp[i]) {
        mon_fail("model: out of memory");
        goto out;
      }
      for (int64_t a = 0; a < o; a++)
        for (int64_t b = 0; b < in; b++) tmp[i][b * o + a] = p[i].data[a * in + b];
      shape[0] = in, shape[1] = o;
      data = tmp[i];
    }
    if (mon_st_writer_add(w, p[i].name, p[i].ndim, shape, data)) goto out;
  }
  if (m->tok && !strcmp(mon_tokenizer_kind(m->tok), "chars")) {
    char vocab[256 * 4 + 1];
    size_t used = 0;
    for (int i = 0; i < m->cfg.vocab_size; i++)
      used +=
          (size_t)snprintf(vocab + used, sizeof vocab - used, "%s%d", i ? "," : "", m->bytes[i]);
    if (mon_st_writer_meta(w, VOCAB_META_KEY, vocab)) goto out;
  }
  if (mon_st_writer_meta(w, "format", "pt")) goto out;
  if (join(path, sizeof path, dir, "model.safetensors") || mon_st_writer_write(w, path)) goto out;
  if (join(path, sizeof path, dir, "config.json") || mon_gpt2_config_write(&m->cfg, path)) goto out;
  if (m->tok && mon_tokenizer_save(m->tok, dir)) goto out;
  rc = 0;
out:
  if (tmp)
    for (int i = 0; i < n; i++) free(tmp[i]);
  free(tmp);
  mon_st_writer_destroy(w);
  free(p);
  return rc;
}

static int parse_vocab(const char *path, const char *s, int V, uint8_t *bytes) {
  int n = 0;
  const char *c = s;
  while (*c) {
    char *end;
    errno = 0;
    long v = strtol(c, &end, 10);
    if (end == c || errno || v < 0 || v > 255 || n >= 256)
      return mon_fail("%s: metadata %s is not a comma-separated list of bytes 0..255: \"%.40s\"",
                      path, VOCAB_META_KEY, s);
    bytes[n++] = (uint8_t)v;
    c = end;
    if (*c == ',') c++;
  }
  if (n != V)
    return mon_fail("%s: metadata %s lists %d bytes but config.json vocab_size is %d", path,
                    VOCAB_META_KEY, n, V);
  return 0;
}

/* Buffers of the Hugging Face GPT2Attention that older exports save (the causal mask and the
 * masking constant): recomputed, never weights. */
static int is_attn_buffer(const char *name) {
  const char *a = strstr(name, ".attn.");
  return a && (!strcmp(a, ".attn.bias") || !strcmp(a, ".attn.masked_bias"));
}

/* The tensor name a checkpoint uses for parameter `name`: with prefix ("transformer." in
 * GPT2LMHeadModel exports), without it (GPT2Model and moncim's own files). */
static const char *st_name(char *buf, size_t n, const char *prefix, const char *name) {
  snprintf(buf, n, "%s%s", prefix, name);
  return buf;
}

static int load_tokenizer(mon_model *m, const mon_gpt2_config *c, const mon_safetensors *st,
                          const char *dir, uint8_t bytes[256], int *chars) {
  *chars = 0;
  if (mon_tokenizer_dir_has_bpe(dir)) {
    if (mon_tokenizer_load_dir(&m->tok, dir)) return -1;
    if (mon_tokenizer_vocab_size(m->tok) > c->vocab_size)
      return mon_fail("%s/vocab.json: %d tokens, more than config.json vocab_size %d", dir,
                      mon_tokenizer_vocab_size(m->tok), c->vocab_size);
    return 0;
  }
  const char *vs = mon_st_meta_get(st, VOCAB_META_KEY);
  if (vs) {
    if (parse_vocab(st->path, vs, c->vocab_size, bytes)) return -1;
  } else if (c->vocab_size <= 256) { /* no vocabulary recorded: token id i is byte i */
    for (int i = 0; i < c->vocab_size; i++) bytes[i] = (uint8_t)i;
  } else {
    return 0; /* weights without a tokenizer: usable for products, not for text */
  }
  *chars = 1;
  return 0;
}

int mon_model_load(mon_model *m, const char *dir) {
  char path[4096], nm[MON_NAME_MAX + 32];
  mon_gpt2_config c;
  memset(m, 0, sizeof *m);
  if (join(path, sizeof path, dir, "config.json") || mon_gpt2_config_read(&c, path)) return -1;
  if (check_config(&c)) return mon_fail_ctx("%s", path);
  mon_safetensors st;
  if (join(path, sizeof path, dir, "model.safetensors") || mon_st_open(&st, path)) return -1;
  uint8_t bytes[256];
  int chars;
  mon_tokenizer *tok = NULL;
  if (load_tokenizer(m, &c, &st, dir, bytes, &chars)) {
    mon_tokenizer_destroy(m->tok);
    goto fail_st;
  }
  tok = m->tok;
  if (mon_model_alloc(m, &c, chars ? bytes : NULL)) {
    mon_tokenizer_destroy(tok);
    goto fail_st;
  }
  if (!chars) m->tok = tok;
  const char *prefix = mon_st_find(&st, "transformer.wte.weight") ? "transformer." : "";
  int n;
  float *tmp = NULL;
  mon_param *p = param_table(m, &n);
  if (!p) goto fail;
  for (int i = 0; i < n; i++) {
    const mon_tensor *t = mon_st_find(&st, st_name(nm, sizeof nm, prefix, p[i].name));
    if (!t) {
      char alt[MON_NAME_MAX + 48];
      const char *hint = "";
      size_t ln = strlen(nm);
      /* a Monarch checkpoint under a dense config, or the reverse */
      if (ln > 7 && !strcmp(nm + ln - 7, ".weight"))
        snprintf(alt, sizeof alt, "%.*s.blkdiag1", (int)(ln - 7), nm);
      else if (ln > 9 && !strcmp(nm + ln - 9, ".blkdiag1"))
        snprintf(alt, sizeof alt, "%.*s.weight", (int)(ln - 9), nm);
      else
        alt[0] = '\0';
      for (int k = 0; alt[0] && k < st.ntensors; k++)
        if (!strcmp(st.tensors[k].name, alt))
          hint = " (the file holds the other linear kind: "
                 "config.json monarch_nblocks disagrees)";
      mon_fail("%s: missing tensor '%s' required by config.json (n_layer %d, monarch_nblocks "
               "%d)%s",
               path, nm, c.n_layer, c.monarch_nblocks, hint);
      goto fail_p;
    }
    int64_t shape[3] = {p[i].shape[0], p[i].shape[1], p[i].shape[2]};
    if (p[i].conv1d) shape[0] = p[i].shape[1], shape[1] = p[i].shape[0];
    float *dst = p[i].data;
    if (p[i].conv1d) {
      free(tmp);
      if (!(dst = tmp = malloc(p[i].n * sizeof(float)))) {
        mon_fail("%s: out of memory loading tensor '%s'", path, nm);
        goto fail_p;
      }
    }
    if (mon_st_read_f32_into(&st, nm, p[i].ndim, shape, dst)) {
      mon_fail_ctx("config.json (n_embd %d, n_inner %d, n_positions %d, vocab_size %d, "
                   "monarch_nblocks %d) disagrees with the tensor",
                   c.n_embd, c.n_inner, c.n_positions, c.vocab_size, c.monarch_nblocks);
      goto fail_p;
    }
    mon_st_release(&st, t);
    if (p[i].conv1d) { /* HF Conv1D (in, out) -> (out, in) */
      int64_t o = p[i].shape[0], in = p[i].shape[1];
      for (int64_t a = 0; a < o; a++)
        for (int64_t b = 0; b < in; b++) p[i].data[a * in + b] = tmp[b * o + a];
    }
    for (size_t j = 0; j < p[i].n; j++)
      if (!isfinite(p[i].data[j])) {
        mon_fail("%s: tensor '%s' element %zu is not finite (%g)", path, nm, j,
                 (double)p[i].data[j]);
        goto fail_p;
      }
  }
  free(tmp);
  tmp = NULL;
  /* the language-model head: moncim ties it to wte; an untied head would be a different model */
  const mon_tensor *head = mon_st_find(&st, "lm_head.weight");
  int expected = n + (head != NULL);
  if (head) {
    const int64_t shape[2] = {c.vocab_size, c.n_embd};
    size_t V = (size_t)c.vocab_size * c.n_embd;
    if (!(tmp = malloc(V * sizeof(float)))) {
      mon_fail("%s: out of memory loading tensor 'lm_head.weight'", path);
      goto fail_p;
    }
    if (mon_st_read_f32_into(&st, "lm_head.weight", 2, shape, tmp)) goto fail_p;
    mon_st_release(&st, head);
    for (size_t j = 0; j < V; j++)
      if (tmp[j] != m->wte[j]) {
        mon_fail("%s: tensor 'lm_head.weight' differs from '%swte.weight' at element %zu (%g vs "
                 "%g): moncim supports GPT-2's tied output head only",
                 path, prefix, j, (double)tmp[j], (double)m->wte[j]);
        goto fail_p;
      }
  }
  for (int k = 0; k < st.ntensors; k++) expected += is_attn_buffer(st.tensors[k].name);
  if (st.ntensors != expected) { /* name the first tensor the config does not account for */
    for (int k = 0; k < st.ntensors; k++) {
      const char *tn = st.tensors[k].name;
      int found = is_attn_buffer(tn) || !strcmp(tn, "lm_head.weight");
      for (int i = 0; i < n && !found; i++)
        found = !strcmp(tn, st_name(nm, sizeof nm, prefix, p[i].name));
      if (!found) {
        mon_fail("%s: unexpected tensor '%s': config.json (n_layer %d, monarch_nblocks %d) "
                 "expects %d tensors, the file has %d",
                 path, tn, c.n_layer, c.monarch_nblocks, expected, st.ntensors);
        goto fail_p;
      }
    }
  }
  free(tmp);
  free(p);
  mon_st_close(&st);
  return 0;
fail_p:
  free(tmp);
  free(p);
fail:
  mon_model_destroy(m);
fail_st:
  mon_st_close(&st);
  return -1;
}
