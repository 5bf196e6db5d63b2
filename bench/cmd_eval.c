/* moncim eval: bits per character and top-1 next-character accuracy of a model directory on the
 * held-out King James Bible books (fixed positions; batched, OpenMP-parallel, deterministic). */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: moncim eval --model DIR [--positions N] [--batch N] [--json]\n\n"
          "Scores next-character predictions of the model in DIR (config.json +\n"
          "model.safetensors) on the held-out text (the books Ruth, Jonah, Mark and James of the\n"
          "King James Bible, never trained on): non-overlapping windows of the model's context,\n"
          "every position of a window scored. Prints cross-entropy in bits per character, top-1\n"
          "accuracy, parameters, FLOPs per token and the time taken. The result does not depend\n"
          "on the number of threads.\n\n"
          "  --model DIR      model directory\n"
          "  --positions N    positions scored (default 16384 = 128 windows of 128)\n"
          "  --batch N        windows per forward chunk (default 8)\n"
          "  --json           print one JSON object instead of the table\n"
          "  --help           this text\n");
}

int bench_cmd_eval(int argc, char **argv) {
  const char *cmd = "eval", *dir = NULL;
  int positions = 16384, batch = 0, json = 0;
  const bench_opt opts[] = {
      BENCH_STR("model", &dir), BENCH_INT("positions", &positions, 1, 1 << 30),
      BENCH_INT("batch", &batch, 1, 4096), BENCH_FLAG("json", &json), BENCH_END};
  int rc = bench_options(cmd, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!dir) return bench_usage_error(cmd, "--model DIR is required");
  double t0 = bench_now();
  mon_model m;
  if (mon_model_load(&m, dir)) return bench_error(cmd, "%s", mon_errmsg());
  double tload = bench_now() - t0;
  uint8_t *tr, *ev;
  size_t ntr, nev;
  if (mon_kjv_text(&tr, &ntr, &ev, &nev)) {
    mon_model_destroy(&m);
    return bench_error(cmd, "%s", mon_errmsg());
  }
  mon_eval_opts eo = {.positions = positions, .batch = batch};
  mon_eval_result r;
  t0 = bench_now();
  rc = mon_model_eval(&m, ev, nev, &eo, &r);
  double dt = bench_now() - t0;
  free(tr), free(ev);
  if (rc) {
    mon_model_destroy(&m);
    return bench_error(cmd, "%s", mon_errmsg());
  }
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", dir);
    bench_model_describe(&m, o);
    cJSON_AddNumberToObject(o, "positions", (double)r.positions);
    cJSON_AddNumberToObject(o, "bits_per_char", r.bpc);
    cJSON_AddNumberToObject(o, "top1", r.top1);
    cJSON_AddNumberToObject(o, "load_seconds", tload);
    cJSON_AddNumberToObject(o, "eval_seconds", dt);
    cJSON_AddNumberToObject(o, "omp_threads", omp_get_max_threads());
    char *t = cJSON_Print(o);
    puts(t);
    free(t);
    cJSON_Delete(o);
  } else {
    printf("%-24s %8s %10s %12s %10s %8s %8s\n", "model", "nblocks", "params", "FLOPs/token",
           "bits/char", "top1", "seconds");
    printf("%-24s %8d %10lld %12.4g %10.4f %8.4f %8.2f\n", dir,
           m.cfg.monarch_nblocks ? m.cfg.monarch_nblocks : 1, mon_model_nparams(&m),
           mon_model_flops_per_token(&m), r.bpc, r.top1, dt);
    printf("# %lld held-out positions, %d threads\n", (long long)r.positions,
           omp_get_max_threads());
  }
  mon_model_destroy(&m);
  return BENCH_OK;
}
