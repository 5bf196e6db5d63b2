/* moncim train: a character-level GPT-2 (dense or Monarch) trained from scratch on the King
 * James Bible training split; plus the helpers shared with moncim d2s / moncim eval. */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shared helpers */

typedef struct {
  const char *cmd;
  mon_model *m;
  const char *out;
  int save_every, quiet;
  cJSON *curve;
  FILE *f;
} progress_ctx;

static void progress(void *vctx, int step, double lr, double loss, double gn, double secs) {
  progress_ctx *c = vctx;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "step", step);
  cJSON_AddNumberToObject(o, "lr", lr);
  cJSON_AddNumberToObject(o, "loss_nats", loss);
  cJSON_AddNumberToObject(o, "bits_per_char", loss / 0.6931471805599453);
  cJSON_AddNumberToObject(o, "grad_norm", gn);
  cJSON_AddNumberToObject(o, "seconds", secs);
  cJSON_AddItemToArray(c->curve, o);
  if (!c->quiet) {
    fprintf(c->f, "%8d  %10.3g  %10.4f  %10.4f  %10.3f  %9.1f\n", step, lr, loss,
            loss / 0.6931471805599453, gn, secs);
    fflush(c->f);
  }
  if (c->save_every > 0 && step % c->save_every == 0 && c->out && mon_model_save(c->m, c->out))
    fprintf(stderr, "moncim %s: checkpoint at step %d not saved: %s\n", c->cmd, step, mon_errmsg());
}

int bench_model_train_run(const char *cmd, mon_model *m, const uint8_t *text, size_t len,
                          const mon_train_opts *o, const char *out, int save_every, int quiet,
                          cJSON *log, double *secs) {
  progress_ctx c = {.cmd = cmd,
                    .m = m,
                    .out = out,
                    .save_every = save_every,
                    .quiet = quiet,
                    .curve = cJSON_AddArrayToObject(log, "curve"),
                    .f = stderr};
  mon_train_opts oo = *o;
  oo.progress = progress;
  oo.progress_ctx = &c;
  if (!quiet) /* progress goes to stderr, the result tables / JSON to stdout */
    fprintf(stderr, "%8s  %10s  %10s  %10s  %10s  %9s\n", "step", "lr", "loss", "bits/char",
            "grad_norm", "seconds");
  double t0 = bench_now(), fl;
  int rc = mon_model_train(m, text, len, &oo, &fl);
  *secs = bench_now() - t0;
  if (rc) return bench_error(cmd, "%s", mon_errmsg());
  cJSON *h = cJSON_AddObjectToObject(log, "hyperparameters");
  cJSON_AddNumberToObject(h, "steps", o->steps);
  cJSON_AddNumberToObject(h, "batch", o->batch);
  cJSON_AddNumberToObject(h, "warmup", o->warmup);
  cJSON_AddNumberToObject(h, "lr", o->lr);
  cJSON_AddNumberToObject(h, "min_lr", o->min_lr);
  cJSON_AddNumberToObject(h, "weight_decay", o->weight_decay);
  cJSON_AddNumberToObject(h, "beta1", o->beta1);
  cJSON_AddNumberToObject(h, "beta2", o->beta2);
  cJSON_AddNumberToObject(h, "clip", o->clip);
  cJSON_AddNumberToObject(h, "data_seed", (double)o->seed);
  cJSON_AddNumberToObject(log, "train_seconds", *secs);
  cJSON_AddNumberToObject(log, "seconds_per_step", o->steps ? *secs / o->steps : 0);
  cJSON_AddNumberToObject(log, "final_train_loss_nats", fl);
  cJSON_AddNumberToObject(log, "omp_threads", omp_get_max_threads());
  return BENCH_OK;
}

/* Held-out evaluation into a JSON object {positions, bits_per_char, top1, seconds}. */
int bench_model_eval_json(const char *cmd, const mon_model *m, const uint8_t *ev, size_t nev,
                          int64_t positions, cJSON *parent, const char *key, mon_eval_result *res) {
  mon_eval_opts eo = {.positions = positions};
  double t0 = bench_now();
  if (mon_model_eval(m, ev, nev, &eo, res)) return bench_error(cmd, "%s", mon_errmsg());
  double dt = bench_now() - t0;
  cJSON *o = cJSON_AddObjectToObject(parent, key);
  cJSON_AddNumberToObject(o, "positions", (double)res->positions);
  cJSON_AddNumberToObject(o, "bits_per_char", res->bpc);
  cJSON_AddNumberToObject(o, "top1", res->top1);
  cJSON_AddNumberToObject(o, "seconds", dt);
  return BENCH_OK;
}

int bench_write_json(const char *cmd, const char *dir, const char *file, const cJSON *j) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  char *txt = cJSON_Print(j);
  if (!txt) return bench_error(cmd, "out of memory");
  size_t n = strlen(txt);
  txt[n] = '\n';
  const void *parts[1] = {txt};
  size_t lens[1] = {n + 1};
  int rc = mon_write_atomic(path, 1, parts, lens);
  free(txt);
  if (rc) return bench_error(cmd, "%s", mon_errmsg());
  return BENCH_OK;
}

void bench_model_describe(const mon_model *m, cJSON *o) {
  const mon_gpt2_config *c = &m->cfg;
  cJSON_AddNumberToObject(o, "nblocks", c->monarch_nblocks ? c->monarch_nblocks : 1);
  cJSON_AddNumberToObject(o, "monarch_nblocks", c->monarch_nblocks);
  cJSON_AddNumberToObject(o, "n_embd", c->n_embd);
  cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
  cJSON_AddNumberToObject(o, "n_head", c->n_head);
  cJSON_AddNumberToObject(o, "n_inner", c->n_inner);
  cJSON_AddNumberToObject(o, "n_positions", c->n_positions);
  cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
  cJSON_AddNumberToObject(o, "params", (double)mon_model_nparams(m));
  cJSON_AddNumberToObject(o, "flops_per_token", mon_model_flops_per_token(m));
}

/* The fine-tuning / training options shared by train and d2s (getopt codes >= 1000). */
int bench_train_option(const char *cmd, int c, const char *arg, mon_train_opts *o,
                       int *save_every) {
  double v;
  int iv;
  switch (c) {
  case 1000:
    return bench_parse_int(cmd, "steps", arg, 0, 10000000, &o->steps);
  case 1001:
    return bench_parse_int(cmd, "batch", arg, 1, 4096, &o->batch);
  case 1002:
    return bench_parse_int(cmd, "warmup", arg, 0, 10000000, &o->warmup);
  case 1003:
    return bench_parse_double(cmd, "lr", arg, 0, 10, &o->lr);
  case 1004:
    return bench_parse_double(cmd, "min-lr", arg, 0, 10, &o->min_lr);
  case 1005:
    return bench_parse_double(cmd, "weight-decay", arg, 0, 10, &o->weight_decay);
  case 1006:
    return bench_parse_double(cmd, "clip", arg, 0, 1e9, &o->clip);
  case 1007:
    if (bench_parse_double(cmd, "seed", arg, 0, 9007199254740992.0, &v)) return -1;
    o->seed = (uint64_t)v;
    return 0;
  case 1008:
    return bench_parse_int(cmd, "log-every", arg, 0, 10000000, &o->log_every);
  case 1009:
    if (bench_parse_int(cmd, "save-every", arg, 0, 10000000, &iv)) return -1;
    *save_every = iv;
    return 0;
  }
  bench_usage_error(cmd, "unhandled option code %d", c);
  return -1;
}

const char bench_train_options_help[] =
    "  --steps N          optimizer steps\n"
    "  --batch N          sequences (windows of ctx+1 bytes) per step (default 16)\n"
    "  --warmup N         linear warm-up steps (default 100)\n"
    "  --lr X             peak learning rate (default 1e-3); cosine decay to --min-lr\n"
    "  --min-lr X         final learning rate (default 1e-4)\n"
    "  --weight-decay X   AdamW decoupled weight decay of matrices/embeddings (default 0.1)\n"
    "  --clip X           global gradient-norm clip (default 1.0; 0 = off)\n"
    "  --seed N           seed of the batch sampling (and of the initialisation in train)\n"
    "  --log-every N      progress line every N steps (default 50)\n"
    "  --save-every N     also save the checkpoint every N steps (default 0 = only at the end)\n";

/* ---------------------------------------------------------------- moncim train */

static void usage(FILE *f) {
  fprintf(f,
          "usage: moncim train --out DIR [options]\n\n"
          "Trains a character-level GPT-2 (learned positions, pre-LayerNorm, GELU MLP, causal\n"
          "multi-head attention, tied embeddings) from scratch on the King James Bible training\n"
          "split (AdamW, warm-up + cosine schedule, gradient clipping), then evaluates it on the\n"
          "held-out books. Writes DIR/config.json, DIR/model.safetensors (Hugging Face GPT-2\n"
          "names), DIR/train-log.json (hyper-parameters, loss curve, timing) and DIR/eval.json.\n"
          "Reproducible: a seed gives the same loss curve on the same thread count.\n\n"
          "  --out DIR          output model directory (created)\n"
          "  --nblocks N        Monarch linear layers with N blocks (default 1 = dense)\n"
          "  --d-model N        n_embd (default 256)\n"
          "  --layers N         n_layer (default 4)\n"
          "  --heads N          n_head (default 8)\n"
          "  --ctx N            context length n_positions (default 128)\n"
          "  --d-ff N           MLP width n_inner (default 4 d-model)\n"
          "  --init DIR         continue from the model in DIR (its config; the size options\n"
          "                     are ignored) with a fresh optimizer and schedule\n"
          "  --eval-positions N held-out positions scored at the end (default 16384)\n"
          "%s"
          "  --json             print the training log as JSON instead of the progress table\n"
          "  --help             this text\n",
          bench_train_options_help);
}

int bench_cmd_train(int argc, char **argv) {
  static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                       {"nblocks", required_argument, NULL, 'n'},
                                       {"d-model", required_argument, NULL, 'd'},
                                       {"layers", required_argument, NULL, 'L'},
                                       {"heads", required_argument, NULL, 'H'},
                                       {"ctx", required_argument, NULL, 'c'},
                                       {"d-ff", required_argument, NULL, 'f'},
                                       {"eval-positions", required_argument, NULL, 'e'},
                                       {"init", required_argument, NULL, 'I'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"help", no_argument, NULL, 'h'},
                                       BENCH_TRAIN_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  const char *cmd = "train", *out = NULL, *init = NULL;
  int nblocks = 1, d = 256, L = 4, H = 8, ctx = 128, dff = 0, json = 0, save_every = 0;
  int evalpos = 16384;
  mon_train_opts o;
  mon_train_opts_default(&o);
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'o':
      out = optarg;
      break;
    case 'n':
      bad = bench_parse_int(cmd, "nblocks", optarg, 1, 4096, &nblocks);
      break;
    case 'd':
      bad = bench_parse_int(cmd, "d-model", optarg, 1, 65536, &d);
      break;
    case 'L':
      bad = bench_parse_int(cmd, "layers", optarg, 1, 1024, &L);
      break;
    case 'H':
      bad = bench_parse_int(cmd, "heads", optarg, 1, 1024, &H);
      break;
    case 'c':
      bad = bench_parse_int(cmd, "ctx", optarg, 1, 65536, &ctx);
      break;
    case 'f':
      bad = bench_parse_int(cmd, "d-ff", optarg, 1, 1 << 20, &dff);
      break;
    case 'e':
      bad = bench_parse_int(cmd, "eval-positions", optarg, 1, 1 << 30, &evalpos);
      break;
    case 'I':
      init = optarg;
      break;
    case 'j':
      json = 1;
      break;
    case 'h':
      usage(stdout);
      return BENCH_OK;
    case ':':
      return bench_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    case '?':
      return bench_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    default:
      bad = bench_train_option(cmd, c, optarg, &o, &save_every);
    }
    if (bad) return BENCH_USAGE;
  }
  if (optind != argc) return bench_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  if (!out) return bench_usage_error(cmd, "--out DIR is required");
  if (d % H) return bench_usage_error(cmd, "--d-model %d is not divisible by --heads %d", d, H);
  uint8_t *tr, *ev;
  size_t ntr, nev;
  if (mon_kjv_text(&tr, &ntr, &ev, &nev)) return bench_error(cmd, "%s", mon_errmsg());
  uint8_t bytes[256], b2[256];
  int V = mon_vocab_build(tr, ntr, bytes);
  /* the vocabulary covers both splits: a byte only in the held-out text must still be scored */
  int Vall = 0;
  {
    uint8_t *all = malloc(ntr + nev);
    if (!all) return bench_error(cmd, "out of memory");
    memcpy(all, tr, ntr), memcpy(all + ntr, ev, nev);
    Vall = mon_vocab_build(all, ntr + nev, b2);
    free(all);
  }
  (void)V;
  mon_gpt2_config cfg = {.vocab_size = Vall,
                         .n_positions = ctx,
                         .n_embd = d,
                         .n_layer = L,
                         .n_head = H,
                         .n_inner = dff ? dff : 4 * d,
                         .monarch_nblocks = nblocks > 1 ? nblocks : 0,
                         .layer_norm_epsilon = 1e-5};
  mon_model m;
  int rc = BENCH_FAIL;
  if (init ? mon_model_load(&m, init) : mon_model_alloc(&m, &cfg, b2)) {
    free(tr), free(ev);
    return bench_error(cmd, "%s", mon_errmsg());
  }
  if (!init) mon_model_init_random(&m, o.seed);
  cJSON *log = cJSON_CreateObject();
  cJSON_AddStringToObject(log, "command", "train");
  cJSON_AddStringToObject(log, "moncim", bench_version_string());
  cJSON_AddStringToObject(log, "commit", bench_git_commit());
  if (init)
    cJSON_AddStringToObject(log, "init_from", init);
  else
    cJSON_AddNumberToObject(log, "init_seed", (double)o.seed);
  cJSON_AddNumberToObject(log, "train_bytes", (double)ntr);
  cJSON_AddNumberToObject(log, "heldout_bytes", (double)nev);
  bench_model_describe(&m, cJSON_AddObjectToObject(log, "model"));
  double secs;
  mon_eval_result res, sl;
  if (bench_model_train_run(cmd, &m, tr, ntr, &o, out, save_every, 0, log, &secs)) goto done;
  if (mon_model_save(&m, out)) {
    bench_error(cmd, "%s", mon_errmsg());
    goto done;
  }
  if (bench_model_eval_json(cmd, &m, ev, nev, evalpos, log, "heldout", &res) ||
      bench_model_eval_json(cmd, &m, ev, nev, 1024, log, "slice", &sl))
    goto done;
  if (bench_write_json(cmd, out, "train-log.json", log)) goto done;
  {
    cJSON *e = cJSON_CreateObject();
    bench_model_describe(&m, e);
    cJSON_AddItemReferenceToObject(e, "heldout", cJSON_GetObjectItem(log, "heldout"));
    cJSON_AddItemReferenceToObject(e, "slice", cJSON_GetObjectItem(log, "slice"));
    cJSON_AddNumberToObject(e, "train_seconds", secs);
    cJSON_AddNumberToObject(e, "seconds_per_step", o.steps ? secs / o.steps : 0);
    int w = bench_write_json(cmd, out, "eval.json", e);
    cJSON_Delete(e);
    if (w) goto done;
  }
  if (json) {
    char *t = cJSON_Print(log);
    puts(t);
    free(t);
  } else {
    printf("# %s: %lld parameters, %.3g FLOPs/token, %.1f s (%.3f s/step)\n", out,
           mon_model_nparams(&m), mon_model_flops_per_token(&m), secs,
           o.steps ? secs / o.steps : 0);
    printf("# held-out: %lld positions, %.4f bits/char, top-1 %.4f\n", (long long)res.positions,
           res.bpc, res.top1);
  }
  rc = BENCH_OK;
done:
  cJSON_Delete(log);
  mon_model_destroy(&m);
  free(tr), free(ev);
  return rc;
}
