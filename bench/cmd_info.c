/* moncim info: the tensors (name, dtype, shape, elements, bytes) and metadata of a
 * safetensors file. */
#include "bench.h"
#include "base.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: moncim info FILE.safetensors [--json]\n\n"
          "Lists the tensors of a safetensors file (name, dtype, shape, elements, bytes) and its\n"
          "\"__metadata__\". The file is validated completely: a malformed file is an error.\n\n"
          "  --json   print one JSON object on stdout instead of the table\n"
          "  --help   this text\n");
}

static void shape_text(char *buf, size_t len, const mon_tensor *t) {
  size_t u = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < t->ndim && u < len; i++)
    u += (size_t)snprintf(buf + u, len - u, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
  if (u < len) snprintf(buf + u, len - u, ")");
}

static int print_json(const mon_safetensors *st) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "file", st->path);
  cJSON_AddNumberToObject(root, "file_bytes", (double)st->map_len);
  cJSON_AddNumberToObject(root, "header_bytes", (double)st->header_len);
  cJSON *ts = cJSON_AddArrayToObject(root, "tensors");
  double numel = 0, bytes = 0;
  for (int i = 0; i < st->ntensors; i++) {
    const mon_tensor *t = &st->tensors[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", mon_dtype_name(t->dtype));
    cJSON *sh = cJSON_AddArrayToObject(o, "shape");
    for (int d = 0; d < t->ndim; d++)
      cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddNumberToObject(o, "numel", (double)t->numel);
    cJSON_AddNumberToObject(o, "bytes", (double)t->nbytes);
    cJSON_AddItemToArray(ts, o);
    numel += (double)t->numel;
    bytes += (double)t->nbytes;
  }
  cJSON_AddNumberToObject(root, "total_numel", numel);
  cJSON_AddNumberToObject(root, "total_bytes", bytes);
  cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
  for (int i = 0; i < st->nmeta; i++)
    cJSON_AddStringToObject(meta, st->meta_keys[i], st->meta_values[i]);
  char *txt = cJSON_Print(root);
  cJSON_Delete(root);
  if (!txt) return bench_error("info", "out of memory");
  puts(txt);
  free(txt);
  return BENCH_OK;
}

static void print_table(const mon_safetensors *st) {
  int wn = 4, ws = 5;
  char sh[256];
  for (int i = 0; i < st->ntensors; i++) {
    int n = (int)strlen(st->tensors[i].name);
    if (n > wn) wn = n;
    shape_text(sh, sizeof sh, &st->tensors[i]);
    if ((int)strlen(sh) > ws) ws = (int)strlen(sh);
  }
  printf("# %s: %d tensors, header %zu bytes, file %zu bytes\n", st->path, st->ntensors,
         st->header_len, st->map_len);
  printf("%-*s  %-7s  %-*s  %14s  %14s\n", wn, "name", "dtype", ws, "shape", "numel", "bytes");
  long long numel = 0, bytes = 0;
  for (int i = 0; i < st->ntensors; i++) {
    const mon_tensor *t = &st->tensors[i];
    shape_text(sh, sizeof sh, t);
    printf("%-*s  %-7s  %-*s  %14lld  %14zu\n", wn, t->name, mon_dtype_name(t->dtype), ws, sh,
           (long long)t->numel, t->nbytes);
    numel += t->numel;
    bytes += (long long)t->nbytes;
  }
  printf("%-*s  %-7s  %-*s  %14lld  %14lld\n", wn, "total", "", ws, "", numel, bytes);
  if (st->nmeta) {
    printf("\n# metadata\n");
    for (int i = 0; i < st->nmeta; i++) printf("%s = %s\n", st->meta_keys[i], st->meta_values[i]);
  }
}

int bench_cmd_info(int argc, char **argv) {
  int json = 0, nops;
  const bench_opt opts[] = {BENCH_FLAG("json", &json), BENCH_END};
  int rc = bench_options("info", argc, argv, opts, usage, &nops);
  if (rc != BENCH_CONTINUE) return rc;
  if (nops != 1)
    return bench_usage_error("info", nops ? "expected exactly one FILE.safetensors"
                                          : "missing FILE.safetensors");
  mon_safetensors st;
  if (mon_st_open(&st, argv[1])) return bench_error("info", "%s", mon_errmsg());
  rc = BENCH_OK;
  if (json)
    rc = print_json(&st);
  else
    print_table(&st);
  mon_st_close(&st);
  return rc;
}
