/* moncim d2s: dense-to-sparse. Projects every attention and MLP weight (QKV, attention output,
 * both MLP matrices) of a trained dense model onto Monarch matrices with a given nblocks
 * (mon_monarch_project: per-sub-block truncated SVD), then fine-tunes the Monarch model, and
 * records the held-out loss before and after the fine-tuning. */
#include "bench.h"
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: moncim d2s --in DIR --nblocks N --out DIR [options]\n\n"
      "Loads the dense model DIR, replaces every linear layer weight by its nearest Monarch\n"
      "matrix with N blocks (biases, embeddings and LayerNorms kept), evaluates it, fine-tunes\n"
      "it on the training split (AdamW, warm-up + cosine) and evaluates again. Writes\n"
      "config.json (monarch_nblocks N), model.safetensors, d2s-log.json (curve, timing) and\n"
      "eval.json (bits/byte and top-1 of the dense input, after projection, after fine-tune).\n\n"
      "  --in DIR           trained dense model\n"
      "  --nblocks N        Monarch blocks (>= 2)\n"
      "  --out DIR          output model directory (created)\n"
      "  --eval-positions N held-out positions scored (default 16384)\n"
      "%s"
      "  --json             print the log as JSON instead of the tables\n"
      "  --help             this text\n"
      "(fine-tune defaults: --steps 300 --lr 5e-4 --min-lr 5e-5 --warmup 20)\n",
      bench_train_options_help);
}

int bench_cmd_d2s(int argc, char **argv) {
  const char *cmd = "d2s", *in = NULL, *out = NULL;
  int nblocks = 0, json = 0, save_every = 0, evalpos = 16384;
  mon_train_opts o;
  mon_train_opts_default(&o);
  o.steps = 300, o.lr = 5e-4, o.min_lr = 5e-5, o.warmup = 20;
  bench_opt train[BENCH_TRAIN_NOPTS];
  bench_train_options(train, &o, &save_every);
  const bench_opt opts[] = {BENCH_STR("in", &in),
                            BENCH_INT("nblocks", &nblocks, 2, 4096),
                            BENCH_STR("out", &out),
                            BENCH_INT("eval-positions", &evalpos, 1, 1 << 30),
                            BENCH_FLAG("json", &json),
                            BENCH_TABLE(train),
                            BENCH_END};
  int rc = bench_options(cmd, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!in || !out || !nblocks)
    return bench_usage_error(cmd, "--in, --nblocks and --out are required");
  mon_model m;
  if (mon_model_load(&m, in)) return bench_error(cmd, "%s", mon_errmsg());
  if (m.cfg.monarch_nblocks) {
    int nb = m.cfg.monarch_nblocks;
    mon_model_destroy(&m);
    return bench_error(
        cmd, "%s: already a Monarch model (monarch_nblocks %d); d2s needs a dense one", in, nb);
  }
  uint8_t *tr, *ev;
  size_t ntr, nev;
  if (mon_kjv_text(&tr, &ntr, &ev, &nev)) {
    mon_model_destroy(&m);
    return bench_error(cmd, "%s", mon_errmsg());
  }
  rc = BENCH_FAIL;
  cJSON *log = cJSON_CreateObject(), *ej = cJSON_CreateObject();
  cJSON_AddStringToObject(log, "command", "d2s");
  cJSON_AddStringToObject(log, "moncim", bench_version_string());
  cJSON_AddStringToObject(log, "commit", bench_git_commit());
  cJSON_AddStringToObject(log, "source", in);
  mon_eval_result rd, rp, rf, sl;
  double rel, t0, tproj, secs;
  if (bench_model_eval_json(cmd, &m, ev, nev, evalpos, log, "dense", &rd)) goto done;
  t0 = bench_now();
  if (mon_model_to_monarch(&m, nblocks, &rel)) {
    bench_error(cmd, "%s", mon_errmsg());
    goto done;
  }
  tproj = bench_now() - t0;
  cJSON_AddNumberToObject(log, "projection_mean_rel_err", rel);
  cJSON_AddNumberToObject(log, "projection_seconds", tproj);
  bench_model_describe(&m, cJSON_AddObjectToObject(log, "model"));
  if (bench_model_eval_json(cmd, &m, ev, nev, evalpos, log, "projected", &rp)) goto done;
  if (!json)
    printf("# %s -> nblocks %d: projection rel. error %.4f (%.1f s); held-out bits/byte dense "
           "%.4f, projected %.4f\n",
           in, nblocks, rel, tproj, rd.bpc, rp.bpc);
  if (bench_model_train_run(cmd, &m, tr, ntr, &o, out, save_every, 0, log, &secs)) goto done;
  if (mon_model_save(&m, out)) {
    bench_error(cmd, "%s", mon_errmsg());
    goto done;
  }
  if (bench_model_eval_json(cmd, &m, ev, nev, evalpos, log, "finetuned", &rf) ||
      bench_model_eval_json(cmd, &m, ev, nev, 1024, log, "slice", &sl))
    goto done;
  if (bench_write_json(cmd, out, "d2s-log.json", log)) goto done;
  bench_model_describe(&m, ej);
  cJSON_AddStringToObject(ej, "source", in);
  cJSON_AddItemReferenceToObject(ej, "dense", cJSON_GetObjectItem(log, "dense"));
  cJSON_AddItemReferenceToObject(ej, "before_finetune", cJSON_GetObjectItem(log, "projected"));
  cJSON_AddItemReferenceToObject(ej, "heldout", cJSON_GetObjectItem(log, "finetuned"));
  cJSON_AddItemReferenceToObject(ej, "slice", cJSON_GetObjectItem(log, "slice"));
  cJSON_AddNumberToObject(ej, "projection_mean_rel_err", rel);
  cJSON_AddNumberToObject(ej, "finetune_seconds", secs);
  cJSON_AddNumberToObject(ej, "seconds_per_step", o.steps ? secs / o.steps : 0);
  if (bench_write_json(cmd, out, "eval.json", ej)) goto done;
  if (json) {
    char *t = cJSON_Print(log);
    puts(t);
    free(t);
  } else {
    printf("%-14s %10s %8s\n", "stage", "bits/byte", "top1");
    printf("%-14s %10.4f %8.4f\n", "dense", rd.bpc, rd.top1);
    printf("%-14s %10.4f %8.4f\n", "projected", rp.bpc, rp.top1);
    printf("%-14s %10.4f %8.4f\n", "fine-tuned", rf.bpc, rf.top1);
    printf("# %lld parameters, %.3g FLOPs/token; fine-tune %d steps in %.1f s (%.3f s/step)\n",
           mon_model_nparams(&m), mon_model_flops_per_token(&m), o.steps, secs,
           o.steps ? secs / o.steps : 0);
  }
  rc = BENCH_OK;
done:
  cJSON_Delete(log);
  cJSON_Delete(ej);
  mon_model_destroy(&m);
  free(tr), free(ev);
  return rc;
}
