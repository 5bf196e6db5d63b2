/* moncim tokenize: the token ids of a text under a model directory's tokenizer, and back. */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f, "usage: moncim tokenize --model DIR --text FILE [--json] [--decode]\n\n"
         "Prints the token ids of FILE's bytes under the tokenizer of DIR: GPT-2's byte-level\n"
         "BPE when DIR holds vocab.json and merges.txt (a Hugging Face GPT-2 checkpoint or the\n"
         "files alone), else the character vocabulary of the moncim model in DIR. Any bytes are\n"
         "accepted; bytes that are not valid UTF-8 are kept (decoding gives them back).\n\n"
         "  --model DIR   tokenizer / model directory\n"
         "  --text FILE   input ('-' = standard input)\n"
         "  --json        print {\"ids\": [...], \"tokens\": N, \"bytes\": N, \"tokenizer\": ...}\n"
         "  --decode      FILE holds token ids (whitespace- or comma-separated integers, or the\n"
         "                JSON printed by --json); write the bytes they spell to stdout\n"
         "  --help        this text\n");
}

static int read_all(const char *cmd, const char *path, uint8_t **buf, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return bench_error(cmd, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  uint8_t *b = malloc(cap + 1);
  while (b) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *g = realloc(b, 2 * cap + 1);
    if (!g) free(b);
    b = g, cap *= 2;
  }
  int err = ferror(f);
  if (f != stdin) fclose(f);
  if (!b) return bench_error(cmd, "%s: out of memory", path);
  if (err) {
    free(b);
    return bench_error(cmd, "%s: read error", path);
  }
  b[n] = 0;
  *buf = b, *len = n;
  return BENCH_OK;
}

/* Ids from text: a JSON object with "ids", a JSON array, or integers separated by white space
 * and commas. */
static int parse_ids(const char *cmd, const char *path, const char *s, int32_t **ids, size_t *n) {
  const char *c = s;
  while (isspace((unsigned char)*c)) c++;
  size_t cap = 1024, k = 0;
  int32_t *v = malloc(cap * sizeof *v);
  if (!v) return bench_error(cmd, "out of memory");
  if (*c == '{' || *c == '[') {
    cJSON *root = cJSON_Parse(c);
    const cJSON *a = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "ids") : root;
    if (!cJSON_IsArray(a)) {
      cJSON_Delete(root), free(v);
      return bench_error(cmd, "%s: expected a JSON array of ids or an object with \"ids\"", path);
    }
    for (const cJSON *e = a->child; e; e = e->next, k++) {
      if (!cJSON_IsNumber(e) || e->valuedouble != (int32_t)e->valuedouble) {
        cJSON_Delete(root), free(v);
        return bench_error(cmd, "%s: element %zu of \"ids\" is not an integer", path, k);
      }
      if (k == cap) {
        int32_t *g = realloc(v, (cap *= 2) * sizeof *v);
        if (!g) return cJSON_Delete(root), free(v), bench_error(cmd, "out of memory");
        v = g;
      }
      v[k] = (int32_t)e->valuedouble;
    }
    cJSON_Delete(root);
  } else {
    while (*c) {
      while (*c && (isspace((unsigned char)*c) || *c == ',')) c++;
      if (!*c) break;
      char *end;
      errno = 0;
      long x = strtol(c, &end, 10);
      if (end == c || errno || x < 0 || x > INT32_MAX) {
        free(v);
        return bench_error(cmd, "%s: id %zu (\"%.20s\") is not a non-negative integer", path, k, c);
      }
      if (k == cap) {
        int32_t *g = realloc(v, (cap *= 2) * sizeof *v);
        if (!g) return free(v), bench_error(cmd, "out of memory");
        v = g;
      }
      v[k++] = (int32_t)x;
      c = end;
    }
  }
  *ids = v, *n = k;
  return BENCH_OK;
}

int bench_cmd_tokenize(int argc, char **argv) {
  const char *cmd = "tokenize", *dir = NULL, *file = NULL;
  int json = 0, decode = 0;
  const bench_opt opts[] = {BENCH_STR("model", &dir), BENCH_STR("text", &file),
                            BENCH_FLAG("json", &json), BENCH_FLAG("decode", &decode), BENCH_END};
  int rc = bench_options(cmd, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!dir) return bench_usage_error(cmd, "--model DIR is required");
  if (!file) return bench_usage_error(cmd, "--text FILE is required");
  mon_tokenizer *tok = NULL;
  mon_model m;
  memset(&m, 0, sizeof m);
  if (mon_tokenizer_dir_has_bpe(dir)) {
    if (mon_tokenizer_load_dir(&tok, dir)) return bench_error(cmd, "%s", mon_errmsg());
  } else {
    if (mon_model_load(&m, dir)) return bench_error(cmd, "%s", mon_errmsg());
    tok = m.tok, m.tok = NULL;
    mon_model_destroy(&m);
    if (!tok) return bench_error(cmd, "%s: no tokenizer (vocab.json + merges.txt)", dir);
  }
  uint8_t *text = NULL;
  size_t len = 0;
  rc = read_all(cmd, file, &text, &len);
  if (rc) goto out_tok;
  int32_t *ids = NULL;
  size_t n = 0;
  if (decode) {
    uint8_t *bytes;
    size_t nb;
    if ((rc = parse_ids(cmd, file, (const char *)text, &ids, &n))) goto out_text;
    if (mon_tokenizer_decode(tok, ids, n, &bytes, &nb)) {
      rc = bench_error(cmd, "%s: %s", file, mon_errmsg());
      goto out_ids;
    }
    if (fwrite(bytes, 1, nb, stdout) != nb) rc = bench_error(cmd, "write error on stdout");
    free(bytes);
    goto out_ids;
  }
  if (mon_tokenizer_encode(tok, text, len, &ids, &n)) {
    rc = bench_error(cmd, "%s: %s", file, mon_errmsg());
    goto out_text;
  }
  if (json) { /* streamed: a whole book is millions of ids */
    printf(
        "{\"tokenizer\": \"%s\", \"vocab_size\": %d, \"bytes\": %zu, \"tokens\": %zu, \"ids\": [",
        mon_tokenizer_kind(tok), mon_tokenizer_vocab_size(tok), len, n);
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
    printf("]}\n");
  } else {
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
    printf("\n");
  }
  if (fflush(stdout)) rc = bench_error(cmd, "write error on stdout");
out_ids:
  free(ids);
out_text:
  free(text);
out_tok:
  mon_tokenizer_destroy(tok);
  return rc;
}
