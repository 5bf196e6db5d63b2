/* moncim eval: bits per byte, perplexity and top-1 next-token accuracy of a model directory on
 * a text (default: the held-out King James Bible books), over strided windows (batched,
 * OpenMP-parallel, deterministic). */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: moncim eval --model DIR [--text FILE] [--context N] [--stride N]\n"
          "                   [--positions N] [--batch N] [--json]\n\n"
          "Scores the next-token predictions of the model in DIR (config.json +\n"
          "model.safetensors, and vocab.json + merges.txt for GPT-2's BPE: a Hugging Face hub\n"
          "checkpoint as downloaded, or a moncim model) on a UTF-8 text. Prints bits per byte of\n"
          "text (comparable between character and BPE models), token perplexity, top-1\n"
          "accuracy, the number of tokens scored, parameters, FLOPs per token and the time. The\n"
          "result does not depend on the number of threads.\n\n"
          "Windowing: the text is tokenized whole; windows of --context tokens start every\n"
          "--stride tokens (0, S, 2S, ...). Token i+1 is predicted from tokens up to i of its\n"
          "window. The first window scores all its positions; every later window scores only\n"
          "the targets after the last one already scored (its last S), so each scored token\n"
          "except those of the first window sees at least context - stride tokens of history;\n"
          "the last window is moved back to end on the last target, keeping a full context.\n"
          "The first token of the text is never a target. A text shorter than the context is\n"
          "scored in one window.\n\n"
          "  --model DIR      model directory\n"
          "  --text FILE      text to score (default: the held-out books Ruth, Jonah, Mark and\n"
          "                   James of the King James Bible, never trained on)\n"
          "  --context N      tokens per window, 1..n_positions (default n_positions)\n"
          "  --stride N       tokens between window starts, 1..context (default context:\n"
          "                   non-overlapping windows, every position scored)\n"
          "  --positions N    score the first N targets only (default: all of --text; 16384\n"
          "                   of the held-out books, the zoo's fixed figure)\n"
          "  --batch N        windows per forward chunk (default 8)\n"
          "  --json           print one JSON object (bits_per_byte, perplexity, top1, tokens,\n"
          "                   bytes, ...) instead of the table\n"
          "  --help           this text\n");
}

static int read_file(const char *cmd, const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return bench_error(cmd, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return bench_error(cmd, "%s: not a regular file", path);
  }
  uint8_t *b = malloc((size_t)sb.st_size + 1);
  size_t n = b ? fread(b, 1, (size_t)sb.st_size, f) : 0;
  int err = !b || ferror(f);
  fclose(f);
  if (err) {
    free(b);
    return bench_error(cmd, "%s: read error or out of memory", path);
  }
  *buf = b, *len = n;
  return BENCH_OK;
}

int bench_cmd_eval(int argc, char **argv) {
  const char *cmd = "eval", *dir = NULL, *file = NULL;
  int positions = 0, batch = 0, json = 0, context = 0, stride = 0;
  const bench_opt opts[] = {BENCH_STR("model", &dir),
                            BENCH_STR("text", &file),
                            BENCH_INT("positions", &positions, 1, 1 << 30),
                            BENCH_INT("context", &context, 1, 1 << 20),
                            BENCH_INT("stride", &stride, 1, 1 << 20),
                            BENCH_INT("batch", &batch, 1, 4096),
                            BENCH_FLAG("json", &json),
                            BENCH_END};
  int rc = bench_options(cmd, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!dir) return bench_usage_error(cmd, "--model DIR is required");
  double t0 = bench_now();
  mon_model m;
  if (mon_model_load(&m, dir)) return bench_error(cmd, "%s", mon_errmsg());
  double tload = bench_now() - t0;
  if (!m.tok) {
    mon_model_destroy(&m);
    return bench_error(cmd,
                       "%s: no tokenizer: a GPT-2 checkpoint needs vocab.json and merges.txt "
                       "next to config.json",
                       dir);
  }
  if (context > m.cfg.n_positions || stride > (context ? context : m.cfg.n_positions)) {
    int ctx = context ? context : m.cfg.n_positions;
    mon_model_destroy(&m);
    return bench_usage_error(cmd,
                             "--context %d / --stride %d: need stride <= context <= %d "
                             "(the model's n_positions)",
                             ctx, stride, m.cfg.n_positions);
  }
  uint8_t *tr = NULL, *ev;
  size_t ntr, nev;
  rc = file
           ? read_file(cmd, file, &ev, &nev)
           : (mon_kjv_text(&tr, &ntr, &ev, &nev) ? bench_error(cmd, "%s", mon_errmsg()) : BENCH_OK);
  if (rc) {
    mon_model_destroy(&m);
    return rc;
  }
  mon_eval_opts eo = {.positions = positions ? positions
                                   : file    ? -1
                                             : 0,
                      .batch = batch,
                      .context = context,
                      .stride = stride};
  mon_eval_result r;
  t0 = bench_now();
  rc = mon_model_eval(&m, ev, nev, &eo, &r);
  double dt = bench_now() - t0;
  free(tr), free(ev);
  if (rc) {
    mon_model_destroy(&m);
    return bench_error(cmd, "%s%s%s", file ? file : "", file ? ": " : "", mon_errmsg());
  }
  int T = context ? context : m.cfg.n_positions;
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", dir);
    cJSON_AddStringToObject(o, "text", file ? file : "kjv-heldout");
    cJSON_AddStringToObject(o, "tokenizer", mon_tokenizer_kind(m.tok));
    bench_model_describe(&m, o);
    cJSON_AddNumberToObject(o, "context", T);
    cJSON_AddNumberToObject(o, "stride", stride ? stride : T);
    cJSON_AddNumberToObject(o, "tokens", (double)r.positions);
    cJSON_AddNumberToObject(o, "positions", (double)r.positions);
    cJSON_AddNumberToObject(o, "bytes", (double)r.bytes);
    cJSON_AddNumberToObject(o, "bits_per_byte", r.bpc);
    cJSON_AddNumberToObject(o, "bits_per_char", r.bpc);
    cJSON_AddNumberToObject(o, "perplexity", r.perplexity);
    cJSON_AddNumberToObject(o, "top1", r.top1);
    cJSON_AddNumberToObject(o, "load_seconds", tload);
    cJSON_AddNumberToObject(o, "eval_seconds", dt);
    cJSON_AddNumberToObject(o, "omp_threads", omp_get_max_threads());
    char *t = cJSON_Print(o);
    puts(t);
    free(t);
    cJSON_Delete(o);
  } else {
    printf("%-24s %8s %10s %12s %10s %10s %8s %8s\n", "model", "nblocks", "params", "FLOPs/token",
           "bits/byte", "perplexity", "top1", "seconds");
    printf("%-24s %8d %10lld %12.4g %10.4f %10.3f %8.4f %8.2f\n", dir,
           m.cfg.monarch_nblocks ? m.cfg.monarch_nblocks : 1, mon_model_nparams(&m),
           mon_model_flops_per_token(&m), r.bpc, r.perplexity, r.top1, dt);
    printf("# %lld tokens (%lld bytes) of %s, windows of %d every %d, %s tokenizer, %d threads\n",
           (long long)r.positions, (long long)r.bytes, file ? file : "the held-out books", T,
           stride ? stride : T, mon_tokenizer_kind(m.tok), omp_get_max_threads());
  }
  mon_model_destroy(&m);
  return BENCH_OK;
}
