/* moncim train: a character-level GPT-2 (dense or Monarch) trained from scratch on the King
 * James Bible training split. */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
          "  --tokenizer DIR    GPT-2's BPE from DIR/vocab.json + DIR/merges.txt (vocab_size\n"
          "                     from it; written into --out with the model, in the Hugging\n"
          "                     Face layout) instead of the character vocabulary of the text\n"
          "  --init DIR         continue from the model in DIR (its config; the size options\n"
          "                     are ignored) with a fresh optimizer and schedule\n"
          "  --eval-positions N held-out positions scored at the end (default 16384)\n"
          "%s"
          "  --json             print the training log as JSON instead of the progress table\n"
          "  --help             this text\n",
          bench_train_options_help);
}

int bench_cmd_train(int argc, char **argv) {
  const char *cmd = "train", *out = NULL, *init = NULL, *tokdir = NULL;
  int nblocks = 1, d = 256, L = 4, H = 8, ctx = 128, dff = 0, json = 0, save_every = 0;
  int evalpos = 16384;
  mon_train_opts o;
  mon_train_opts_default(&o);
  bench_opt train[BENCH_TRAIN_NOPTS];
  bench_train_options(train, &o, &save_every);
  const bench_opt opts[] = {BENCH_STR("out", &out),
                            BENCH_INT("nblocks", &nblocks, 1, 4096),
                            BENCH_INT("d-model", &d, 1, 65536),
                            BENCH_INT("layers", &L, 1, 1024),
                            BENCH_INT("heads", &H, 1, 1024),
                            BENCH_INT("ctx", &ctx, 1, 65536),
                            BENCH_INT("d-ff", &dff, 1, 1 << 20),
                            BENCH_INT("eval-positions", &evalpos, 1, 1 << 30),
                            BENCH_STR("init", &init),
                            BENCH_STR("tokenizer", &tokdir),
                            BENCH_FLAG("json", &json),
                            BENCH_TABLE(train),
                            BENCH_END};
  int rc = bench_options(cmd, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
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
  mon_tokenizer *tok = NULL;
  rc = BENCH_FAIL;
  if (tokdir && !init) {
    if (mon_tokenizer_load_dir(&tok, tokdir)) {
      free(tr), free(ev);
      return bench_error(cmd, "%s", mon_errmsg());
    }
    cfg.vocab_size = mon_tokenizer_vocab_size(tok);
  }
  if (init ? mon_model_load(&m, init) : mon_model_alloc(&m, &cfg, tok ? NULL : b2)) {
    mon_tokenizer_destroy(tok);
    free(tr), free(ev);
    return bench_error(cmd, "%s", mon_errmsg());
  }
  if (tok) m.tok = tok;
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
    printf("# held-out: %lld tokens, %.4f bits/byte, perplexity %.2f, top-1 %.4f\n",
           (long long)res.positions, res.bpc, res.perplexity, res.top1);
  }
  rc = BENCH_OK;
done:
  cJSON_Delete(log);
  mon_model_destroy(&m);
  free(tr), free(ev);
  return rc;
}
