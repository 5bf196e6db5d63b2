/* Hugging Face config.json of a GPT-2-architecture model (transformers' GPT2Config), plus
 * moncim's "monarch_nblocks". Names and meanings follow GPT2Config so that a config written by
 * transformers' save_pretrained() loads here and ours loads there. */
#include "model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* GPT2Config's default layer_norm_epsilon (transformers, configuration_gpt2.py). */
#define GPT2_DEFAULT_LN_EPS 1e-5
/* A config.json is a few hundred bytes; anything this large is not one. */
#define CONFIG_MAX_BYTES (16 << 20)

/* An integer field in [lo, hi]. Absent: *out = dflt if allow_absent, else an error. */
static int get_int(const char *path, const cJSON *root, const char *key, long lo, long hi,
                   int allow_absent, int dflt, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v) {
    if (allow_absent) {
      *out = dflt;
      return 0;
    }
    return mon_fail("%s: missing field '%s' (an integer in [%ld, %ld])", path, key, lo, hi);
  }
  if (!cJSON_IsNumber(v))
    return mon_fail("%s: field '%s' must be an integer in [%ld, %ld]", path, key, lo, hi);
  double d = v->valuedouble;
  if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
    return mon_fail("%s: field '%s' = %g, expected an integer in [%ld, %ld]", path, key, d, lo, hi);
  *out = (int)d;
  return 0;
}

int mon_gpt2_config_read(mon_gpt2_config *c, const char *path) {
  memset(c, 0, sizeof *c);
  size_t len = 0;
  char *txt = mon_read_file(path, CONFIG_MAX_BYTES, "a config.json", &len);
  if (!txt) return -1;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(txt, len, &end, 0);
  if (!root) {
    /* Line number of the error, for the human fixing the file by hand. */
    size_t at = end && end >= txt && end <= txt + len ? (size_t)(end - txt) : 0;
    int line = 1;
    for (size_t i = 0; i < at; i++) line += txt[i] == '\n';
    free(txt);
    return mon_fail("%s:%d: invalid JSON", path, line);
  }
  int rc = -1;
  if (!cJSON_IsObject(root)) {
    mon_fail("%s: expected a JSON object at the top level", path);
    goto done;
  }
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
  if (mt && !(cJSON_IsString(mt) && !strcmp(mt->valuestring, "gpt2"))) {
    mon_fail("%s: field 'model_type' is %s%.40s%s, expected \"gpt2\"", path,
             cJSON_IsString(mt) ? "\"" : "", cJSON_IsString(mt) ? mt->valuestring : "not a string",
             cJSON_IsString(mt) ? "\"" : "");
    goto done;
  }
  if (get_int(path, root, "vocab_size", 1, INT_MAX, 0, 0, &c->vocab_size) ||
      get_int(path, root, "n_positions", 1, INT_MAX, 0, 0, &c->n_positions) ||
      get_int(path, root, "n_embd", 1, INT_MAX, 0, 0, &c->n_embd) ||
      get_int(path, root, "n_layer", 1, INT_MAX, 0, 0, &c->n_layer) ||
      get_int(path, root, "n_head", 1, INT_MAX, 0, 0, &c->n_head))
    goto done;
  if (c->n_embd % c->n_head) {
    mon_fail("%s: field 'n_embd' = %d is not divisible by 'n_head' = %d", path, c->n_embd,
             c->n_head);
    goto done;
  }
  const cJSON *ni = cJSON_GetObjectItemCaseSensitive(root, "n_inner");
  if (!ni || cJSON_IsNull(ni)) { /* GPT2Config: None means 4 * n_embd */
    if (c->n_embd > INT_MAX / 4) {
      mon_fail("%s: 4 * n_embd (the default 'n_inner') overflows", path);
      goto done;
    }
    c->n_inner = 4 * c->n_embd;
  } else if (get_int(path, root, "n_inner", 1, INT_MAX, 0, 0, &c->n_inner)) {
    goto done; /* null is allowed too */
  }
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
  if (!eps) {
    c->layer_norm_epsilon = GPT2_DEFAULT_LN_EPS;
  } else if (!cJSON_IsNumber(eps) || !isfinite(eps->valuedouble) || eps->valuedouble <= 0 ||
             eps->valuedouble >= 1) {
    mon_fail("%s: field 'layer_norm_epsilon' must be a number in (0, 1)", path);
    goto done;
  } else {
    c->layer_norm_epsilon = eps->valuedouble;
  }
  /* GPT-2 uses the tanh approximation of GELU (transformers: "gelu_new"; "gelu_pytorch_tanh"
   * is the same function), which is what model/layers.c computes. */
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
  if (act && !(cJSON_IsString(act) && (!strcmp(act->valuestring, "gelu_new") ||
                                       !strcmp(act->valuestring, "gelu_pytorch_tanh")))) {
    mon_fail("%s: field 'activation_function' is %s%.40s%s, expected \"gelu_new\" (GPT-2's "
             "tanh GELU, the one moncim implements)",
             path, cJSON_IsString(act) ? "\"" : "",
             cJSON_IsString(act) ? act->valuestring : "not a string",
             cJSON_IsString(act) ? "\"" : "");
    goto done;
  }
  int minff = c->n_embd < c->n_inner ? c->n_embd : c->n_inner;
  /* 0 = dense; a Monarch factor cannot have more blocks than its smaller dimension. */
  if (get_int(path, root, "monarch_nblocks", 0, minff, 1, 0, &c->monarch_nblocks)) goto done;
  rc = 0;
done:
  cJSON_Delete(root);
  free(txt);
  if (rc) memset(c, 0, sizeof *c);
  return rc;
}

int mon_gpt2_config_write(const mon_gpt2_config *c, const char *path) {
  if (c->vocab_size < 1 || c->n_positions < 1 || c->n_embd < 1 || c->n_layer < 1 || c->n_head < 1 ||
      c->n_inner < 1 || c->n_embd % c->n_head || c->monarch_nblocks < 0 ||
      !(c->layer_norm_epsilon > 0 && c->layer_norm_epsilon < 1))
    return mon_fail("%s: refusing to write an invalid GPT-2 config (sizes must be positive, "
                    "n_embd divisible by n_head, layer_norm_epsilon in (0, 1))",
                    path);
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  cJSON *arch = ok ? cJSON_AddArrayToObject(root, "architectures") : NULL;
  ok = arch && cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
  ok = ok && cJSON_AddStringToObject(root, "model_type", "gpt2");
  ok = ok && cJSON_AddNumberToObject(root, "vocab_size", c->vocab_size);
  ok = ok && cJSON_AddNumberToObject(root, "n_positions", c->n_positions);
  ok = ok && cJSON_AddNumberToObject(root, "n_embd", c->n_embd);
  ok = ok && cJSON_AddNumberToObject(root, "n_layer", c->n_layer);
  ok = ok && cJSON_AddNumberToObject(root, "n_head", c->n_head);
  ok = ok && cJSON_AddNumberToObject(root, "n_inner", c->n_inner);
  ok = ok && cJSON_AddNumberToObject(root, "layer_norm_epsilon", c->layer_norm_epsilon);
  ok = ok && cJSON_AddStringToObject(root, "activation_function", "gelu_new");
  ok = ok && cJSON_AddNumberToObject(root, "monarch_nblocks", c->monarch_nblocks);
  char *txt = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!txt) return mon_fail("%s: out of memory building config.json", path);
  size_t len = strlen(txt);
  txt[len] = '\n'; /* overwrite the terminator: files end with a newline */
  const void *parts[1] = {txt};
  size_t lens[1] = {len + 1};
  int rc = mon_write_atomic(path, 1, parts, lens);
  free(txt);
  return rc;
}
