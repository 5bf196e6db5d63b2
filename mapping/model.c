/* Model descriptions for mapping: linear layers from real weights or shape-only workloads. */
#include "mapping.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_names[MAP_KINDS] = {"qkv", "attn_out", "fc", "proj", "xq", "xkv", "xout"};

const char *map_kind_name(map_kind k) {
  return (k >= 0 && k < MAP_KINDS) ? kind_names[k] : "?";
}

void map_model_init(map_model *mm, const char *name) {
  memset(mm, 0, sizeof *mm);
  snprintf(mm->name, sizeof mm->name, "%s", name ? name : "model");
}

void map_model_destroy(map_model *mm) {
  if (!mm) return;
  for (int i = 0; i < mm->nlayers; i++) {
    if (mm->own_mon) mon_monarch_destroy(&mm->own_mon[i]);
    if (mm->own_w) free(mm->own_w[i]);
  }
  free(mm->own_mon);
  free(mm->own_w);
  free(mm->layer);
  memset(mm, 0, sizeof *mm);
}

static int grow(map_model *mm) {
  if (mm->nlayers < mm->cap) return 0;
  int cap = mm->cap ? 2 * mm->cap : 16;
  map_layer *l = realloc(mm->layer, (size_t)cap * sizeof *l);
  if (!l) return mon_fail("model: out of memory");
  mm->layer = l;
  mon_monarch *om = realloc(mm->own_mon, (size_t)cap * sizeof *om);
  if (!om) return mon_fail("model: out of memory");
  mm->own_mon = om;
  float **ow = realloc(mm->own_w, (size_t)cap * sizeof *ow);
  if (!ow) return mon_fail("model: out of memory");
  mm->own_w = ow;
  for (int i = mm->cap; i < cap; i++) {
    memset(&om[i], 0, sizeof om[i]);
    ow[i] = NULL;
  }
  mm->cap = cap;
  return 0;
}

int map_model_add(map_model *mm, const char *name, int layer, map_kind kind, int out, int in,
                  int nblocks, int tokens, const float *w, const mon_monarch *mon, const float *b) {
  if (out < 1 || in < 1)
    return mon_fail("model %s: layer '%s': shape (%d, %d): expected out, in >= 1", mm->name, name,
                    out, in);
  if (tokens < 1)
    return mon_fail("model %s: layer '%s': tokens = %d: expected >= 1", mm->name, name, tokens);
  if (kind < 0 || kind >= MAP_KINDS)
    return mon_fail("model %s: layer '%s': kind %d unknown", mm->name, name, (int)kind);
  map_layer L = {.layer = layer,
                 .kind = kind,
                 .out = out,
                 .in = in,
                 .tokens = tokens,
                 .w = w,
                 .mon = mon,
                 .b = b};
  snprintf(L.name, sizeof L.name, "%s", name);
  if (mm->nlayers > 0) L.npred = 1, L.pred[0] = mm->nlayers - 1; /* a chain unless told */
  L.same_input = -1;
  if (mon) {
    if (mon->in != in || mon->out != out)
      return mon_fail("model %s: layer '%s': Monarch is (%d, %d), layer says (%d, %d)", mm->name,
                      name, mon->out, mon->in, out, in);
    L.is_monarch = 1;
    L.nblocks = mon->nblocks;
    L.k = mon->k, L.q = mon->q, L.p = mon->p, L.l = mon->l, L.s = mon->s, L.r = mon->r;
  } else if (!w && nblocks != 0) {
    int nb = nblocks;
    if (nb == MAP_NBLOCKS_SQRT) nb = (int)floor(sqrt((double)in) + 1e-9);
    if (nb < 1)
      return mon_fail("model %s: layer '%s': nblocks = %d: expected >= 1, 0 (dense) or sqrt",
                      mm->name, name, nblocks);
    if (in % nb || out % nb)
      return mon_fail("model %s: layer '%s': nblocks = %d does not divide the layer shape "
                      "(out %d, in %d)",
                      mm->name, name, nb, out, in);
    mon_monarch sh;
    if (mon_monarch_shape(&sh, out, in, nb))
      return mon_fail_ctx("model %s: layer '%s': nblocks", mm->name, name);
    L.is_monarch = 1;
    L.nblocks = nb;
    L.k = sh.k, L.q = sh.q, L.p = sh.p, L.l = sh.l, L.s = sh.s, L.r = sh.r;
  }
  if (grow(mm)) return -1;
  mm->layer[mm->nlayers++] = L;
  return 0;
}

int map_model_set_pred(map_model *mm, int layer, int npred, const int *pred) {
  if (layer < 0 || layer >= mm->nlayers)
    return mon_fail("model %s: layer %d out of range [0, %d)", mm->name, layer, mm->nlayers);
  map_layer *L = &mm->layer[layer];
  if (npred < 0 || npred > MAP_MAX_PRED)
    return mon_fail("model %s: layer '%s': %d inputs: expected 0..%d", mm->name, L->name, npred,
                    MAP_MAX_PRED);
  for (int i = 0; i < npred; i++)
    if (pred[i] < 0 || pred[i] >= layer)
      return mon_fail("model %s: layer '%s': input layer %d: expected an earlier layer (0..%d)",
                      mm->name, L->name, pred[i], layer - 1);
  L->npred = npred;
  for (int i = 0; i < npred; i++) L->pred[i] = pred[i];
  return 0;
}

typedef struct {
  map_kind k;
  int out, in;
  const char *suffix;
} lin_spec;

int map_model_transformer(map_model *mm, const char *name, int nlayers, int d, int d_ff, int tokens,
                          int nblocks, int cross, int fused_qkv) {
  map_model_init(mm, name);
  if (nlayers < 1 || d < 1 || d_ff < 1 || cross < 0 || cross > nlayers)
    return mon_fail("model %s: nlayers %d, d %d, d_ff %d, cross %d: expected positive sizes and "
                    "0 <= cross <= nlayers",
                    name, nlayers, d, d_ff, cross);
  char nm[64];
  /* dataflow: `block_out` = the previous block's MLP output (-1: the embeddings), `enc_out` = the
   * encoder's output (the last encoder block's MLP) */
  int block_out = -1, enc_out = -1;
  for (int i = 0; i < nlayers; i++) {
    int dec = i >= nlayers - cross;
    if (cross && i == nlayers - cross) enc_out = block_out, block_out = -1;
    lin_spec lin[12];
    int n = 0;
    if (fused_qkv) {
      lin[n++] = (lin_spec){MAP_QKV, 3 * d, d, "attn.c_attn"};
    } else {
      lin[n++] = (lin_spec){MAP_QKV, d, d, "attn.q"};
      lin[n++] = (lin_spec){MAP_QKV, d, d, "attn.k"};
      lin[n++] = (lin_spec){MAP_QKV, d, d, "attn.v"};
    }
    lin[n++] = (lin_spec){MAP_ATTN_OUT, d, d, "attn.c_proj"};
    if (dec) {
      lin[n++] = (lin_spec){MAP_CROSS_Q, d, d, "xattn.q"};
      lin[n++] = (lin_spec){MAP_CROSS_KV, d, d, "xattn.k"};
      lin[n++] = (lin_spec){MAP_CROSS_KV, d, d, "xattn.v"};
      lin[n++] = (lin_spec){MAP_CROSS_OUT, d, d, "xattn.c_proj"};
    }
    lin[n++] = (lin_spec){MAP_FC, d_ff, d, "mlp.c_fc"};
    lin[n++] = (lin_spec){MAP_PROJ, d, d_ff, "mlp.c_proj"};
    int qkv[3], nqkv = 0, xin[3], nx = 0, attn = -1;
    for (int j = 0; j < n; j++) {
      snprintf(nm, sizeof nm, "h.%d.%s", i, lin[j].suffix);
      int id = mm->nlayers, pred[MAP_MAX_PRED], np = 0;
      int same = -1; /* q/k/v read one input; cross k/v both read the encoder output */
      if (lin[j].k == MAP_QKV && nqkv > 0) same = qkv[0];
      if (lin[j].k == MAP_CROSS_KV && nx > 0 && mm->layer[xin[nx - 1]].kind == MAP_CROSS_KV)
        same = xin[nx - 1];
      switch (lin[j].k) {
      case MAP_QKV:
        if (block_out >= 0) pred[np++] = block_out;
        qkv[nqkv++] = id;
        break;
      case MAP_ATTN_OUT:
        for (int t = 0; t < nqkv; t++) pred[np++] = qkv[t];
        break;
      case MAP_CROSS_Q:
        pred[np++] = attn;
        xin[nx++] = id;
        break;
      case MAP_CROSS_KV:
        if (enc_out >= 0) pred[np++] = enc_out;
        xin[nx++] = id;
        break;
      case MAP_CROSS_OUT:
        for (int t = 0; t < nx; t++) pred[np++] = xin[t];
        break;
      case MAP_FC:
      case MAP_PROJ:
      default:
        pred[np++] = id - 1; /* fc reads the last attention output, proj reads fc */
        break;
      }
      if (lin[j].k == MAP_ATTN_OUT || lin[j].k == MAP_CROSS_OUT) attn = id;
      if (lin[j].k == MAP_PROJ) block_out = id;
      if (map_model_add(mm, nm, i, lin[j].k, lin[j].out, lin[j].in, nblocks, tokens, NULL, NULL,
                        NULL) ||
          map_model_set_pred(mm, id, np, pred)) {
        map_model_destroy(mm);
        return -1;
      }
      mm->layer[id].same_input = same;
    }
  }
  return 0;
}

int map_model_workload(map_model *mm, const char *name, int nblocks) {
  if (!strcmp(name, "bert-large")) /* Devlin et al. 2019: 24 x d 1024, ff 4096, seq 512;
                                     separate query/key/value linears as in HF BertSelfAttention */
    return map_model_transformer(mm, name, 24, 1024, 4096, 512, nblocks, 0, 0);
  if (!strcmp(name, "gpt2-medium")) /* Radford et al. 2019: 24 x d 1024, ff 4096; ctx 1024 */
    return map_model_transformer(mm, name, 24, 1024, 4096, 1024, nblocks, 0, 1);
  if (!strcmp(name, "bart-large")) /* Lewis et al. 2020: 12 enc + 12 dec, d 1024, ff 4096;
                                     separate q/k/v_proj, decoder cross-attention */
    return map_model_transformer(mm, name, 24, 1024, 4096, 1024, nblocks, 12, 0);
  if (!strcmp(name, "zoo-shape")) /* moncim's own model zoo: 4 x d 256, ff 1024 */
    return map_model_transformer(mm, name, 4, 256, 1024, 256, nblocks, 0, 1);
  return mon_fail("model '%s': unknown workload (expected bert-large, gpt2-medium, bart-large, "
                  "zoo-shape)",
                  name);
}

/* A pure function of (seed, a, b): nested splitmix64 hashes of the counters. */
static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b) {
  return mon_hash64(seed ^ mon_hash64(a ^ mon_hash64(b)));
}

static float urand(uint64_t seed, uint64_t a, uint64_t b, float scale) {
  double u = mon_u01(mix(seed, a, b));
  return (float)((2.0 * u - 1.0) * scale);
}

int map_model_random_weights(map_model *mm, uint64_t seed) {
  for (int i = 0; i < mm->nlayers; i++) {
    map_layer *L = &mm->layer[i];
    if (L->w || L->mon) continue;
    if (L->is_monarch) {
      mon_monarch *m = &mm->own_mon[i];
      if (mon_monarch_create_shaped(m, L->out, L->in, L->k, L->q, L->p, L->l, L->s, L->r))
        return mon_fail_ctx("model %s: layer '%s'", mm->name, L->name);
      m->nblocks = L->nblocks;
      size_t n1 = mon_monarch_w1_len(m), n2 = mon_monarch_w2_len(m);
      float s1 = 1.0f / sqrtf((float)L->p), s2 = 1.0f / sqrtf((float)L->r);
      for (size_t j = 0; j < n1; j++) m->w1[j] = urand(seed, 2 * (uint64_t)i, j, s1);
      for (size_t j = 0; j < n2; j++) m->w2[j] = urand(seed, 2 * (uint64_t)i + 1, j, s2);
      L->mon = m;
    } else {
      size_t n = (size_t)L->out * (size_t)L->in;
      float *w = malloc(n * sizeof *w);
      if (!w) return mon_fail("model %s: layer '%s': out of memory for weights", mm->name, L->name);
      float sc = 1.0f / sqrtf((float)L->in);
      for (size_t j = 0; j < n; j++) w[j] = urand(seed, 2 * (uint64_t)i, j, sc);
      mm->own_w[i] = w;
      L->w = w;
    }
  }
  return 0;
}

int map_model_from_spec(map_model *mm, const char *spec, int nblocks) {
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", spec);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (nblocks == MAP_NBLOCKS_CONFIG)
      return mon_fail("model '%s': nblocks must be given for a workload (no config.json)", spec);
    return map_model_workload(mm, spec, nblocks);
  }
  /* the shape fields only (mon_gpt2_config_read lands with the checkpoint issue; switch then) */
  char *text = NULL;
  size_t len = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && n < (1L << 24) && (text = malloc((size_t)n + 1))) {
      rewind(f);
      len = fread(text, 1, (size_t)n, f);
      text[len] = '\0';
    }
  }
  fclose(f);
  cJSON *root = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!root) return mon_fail("%s: not valid JSON", path);
  const char *keys[] = {"n_layer", "n_embd", "n_positions", "n_inner", "monarch_nblocks"};
  int v[5] = {0, 0, 0, 0, 0};
  int rc = 0;
  for (int i = 0; i < 5 && !rc; i++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
    if (!it || cJSON_IsNull(it)) {
      if (i < 3)
        rc = mon_fail("%s: field '%s' missing (expected a positive integer)", path, keys[i]);
      continue;
    }
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble != (int)it->valuedouble)
      rc = mon_fail("%s: field '%s': expected a non-negative integer", path, keys[i]);
    else
      v[i] = (int)it->valuedouble;
  }
  cJSON_Delete(root);
  if (rc) return rc;
  int nb = nblocks == MAP_NBLOCKS_CONFIG ? v[4] : nblocks;
  int d_ff = v[3] > 0 ? v[3] : 4 * v[1];
  return map_model_transformer(mm, spec, v[0], v[1], d_ff, v[2] > 0 ? v[2] : 1, nb, 0, 1);
}
