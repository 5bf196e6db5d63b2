/* Helpers of the model commands (train, d2s, eval): the training options, the training run with
 * its progress table and JSON log, held-out evaluation into JSON, atomic JSON files. */
#include "bench.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    fprintf(stderr, "%8s  %10s  %10s  %10s  %10s  %9s\n", "step", "lr", "loss", "bits/token",
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
  cJSON_AddNumberToObject(o, "bits_per_byte", res->bpc);
  cJSON_AddNumberToObject(o, "perplexity", res->perplexity);
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

static int parse_seed(const char *cmd, const char *arg, void *dst) {
  double v;
  if (bench_parse_double(cmd, "seed", arg, 0, 9007199254740992.0, &v)) return -1;
  *(uint64_t *)dst = (uint64_t)v;
  return 0;
}

void bench_train_options(bench_opt t[BENCH_TRAIN_NOPTS], mon_train_opts *o, int *save_every) {
  const bench_opt tab[BENCH_TRAIN_NOPTS] = {BENCH_INT("steps", &o->steps, 0, 10000000),
                                            BENCH_INT("batch", &o->batch, 1, 4096),
                                            BENCH_INT("warmup", &o->warmup, 0, 10000000),
                                            BENCH_DOUBLE("lr", &o->lr, 0, 10),
                                            BENCH_DOUBLE("min-lr", &o->min_lr, 0, 10),
                                            BENCH_DOUBLE("weight-decay", &o->weight_decay, 0, 10),
                                            BENCH_DOUBLE("clip", &o->clip, 0, 1e9),
                                            BENCH_FN("seed", parse_seed, &o->seed),
                                            BENCH_INT("log-every", &o->log_every, 0, 10000000),
                                            BENCH_INT("save-every", save_every, 0, 10000000),
                                            BENCH_END};
  memcpy(t, tab, sizeof tab);
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
