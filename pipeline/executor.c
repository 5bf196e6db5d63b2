/* The real sweep executor: one sweep job = load (or reuse) a model, map it on the hardware with
 * the job's strategy, program the simulated arrays (cimsim) with the job's converters, noise
 * and seed, evaluate the model with every weight-stationary linear layer executed by the
 * simulator, and account latency, energy and area of one token.
 *
 * Model specs (the sweep's `models` axis):
 *   zoo:NAME     moncim's zoo: directory MODELS/NAME-dense for nblocks 1, MODELS/NAME-nbN else
 *                (MODELS = option.models_dir, else $MONCIM_MODELS_DIR, else the source tree's
 *                models/). Accuracy and cost.
 *   dir:PATH     a model directory (config.json + model.safetensors) taken as it is (the nblocks
 *                axis must match its monarch_nblocks, 1 for dense). Accuracy and cost.
 *   hf:PATH      the same for a Hugging Face GPT-2 checkpoint directory as downloaded (tokenizer
 *                vocab.json + merges.txt next to it; model.h: mon_model_load).
 *   shape:NAME   a shape-only workload of mapping/ (bert-large, gpt2-medium, bart-large,
 *                zoo-shape): cost only, the accuracy columns are NaN.
 *
 * Options: option.eval_chars (tokens scored, default 4096; with eval_text: all of it),
 * option.eval_text (a UTF-8 text file to evaluate on instead of the held-out KJV books),
 * option.models_dir,
 * option.attn_bits (digital attention operands rounded to that many bits in the simulated run;
 * default float; mon_eval_opts.attn_bits), option.adc_range = fullscale | calibrated and
 * option.adc_percentile (calibrated ADC ranges: cimsim calibrates each layer on the first batch
 * it simulates; docs/analog-model.md). The mapping and cost settings option.dense_layout,
 * option.dense_row_split, option.share_rows, option.digital_lanes, option.fold_permute and
 * option.adc_lossless are `moncim map`'s --dense-layout ... --adc-lossless (one parser,
 * map_settings_set; the hw ones override the hardware file) and are recorded in every row;
 * the digital_lanes axis (0 = not set) overrides digital_lanes per job.
 * cimsim runs layer by layer: a job with weights whose mapping shares a row band (share_rows = 1
 * and layers reading one input, e.g. separate q/k/v) fails with cimsim's message; shape-only
 * jobs cost it.
 * Periphery conventions, overriding the hardware file's fields for every job: option.adc_per =
 * column | pair, option.in_encoding = twos | signmag,
 * option.in_range = dynamic | static (option.in_percentile), option.adc_cal = step | slice;
 * option.calibrate_on = eval | heldout (held-out: the last option.calibrate_positions (1024)
 * positions of the evaluation split, disjoint from the scored ones). Each job's effective
 * settings and its input clip fraction land in its HDF5 row.
 *
 * Per-rank caches (the expensive shared work): loaded models with their float evaluation
 * (bits/char, top-1 and the per-position predictions the agreement column compares against),
 * and the evaluation text. A job's results depend on its parameters only: the model and the
 * simulator are deterministic for any thread count, and cimsim keys its noise by the job seed.
 */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef MONCIM_SOURCE_DIR
#define MONCIM_SOURCE_DIR "."
#endif

#define REAL_DEFAULT_EVAL_CHARS 4096

typedef struct {
  char dir[JOB_PATH_LEN + 64]; /* model directory (cache key) */
  mon_model model;
  pipe_reference ref; /* its float evaluation on the sweep's text */
} real_model;

typedef struct {
  char *sweep_dir; /* relative hardware files are looked up here first (job_hardware_path) */
  char models_dir[JOB_PATH_LEN];
  int64_t eval_chars;           /* tokens scored; < 0: all of the text */
  char eval_text[JOB_PATH_LEN]; /* file, or "" for the held-out KJV books */
  int attn_bits;
  int calibrated;
  double percentile;
  map_settings set;     /* option.dense_layout ... option.adc_lossless */
  int per[4];           /* adc_per_pair, in_sign_magnitude, in_range_static, adc_cal_per_slice:
                           -1 = the hardware file's */
  double in_percentile; /* < 0: default */
  int heldout;
  int64_t cal_positions;
  uint8_t *train, *eval; /* KJV text, loaded on first use */
  size_t ntrain, neval;
  int nmodels;
  real_model *models[32];
  job_cache_stats st;
} real_state;

/* ------------------------------------------------------------------ specs */

static int is_prefix(const char *s, const char *pre) {
  return !strncmp(s, pre, strlen(pre));
}

/* Directory of a zoo/dir model spec for nblocks; 0, or -1 + message. */
static int model_dir(const real_state *st, const char *spec, int nblocks, char *out, size_t n) {
  if (is_prefix(spec, "zoo:")) {
    const char *name = spec + 4;
    int w = nblocks <= 1 ? snprintf(out, n, "%s/%s-dense", st->models_dir, name)
                         : snprintf(out, n, "%s/%s-nb%d", st->models_dir, name, nblocks);
    if (w < 0 || (size_t)w >= n) return mon_fail("model path too long for '%s'", spec);
  } else if (is_prefix(spec, "dir:") || is_prefix(spec, "hf:")) {
    if ((size_t)snprintf(out, n, "%s", strchr(spec, ':') + 1) >= n)
      return mon_fail("model path too long: '%s'", spec);
  } else {
    return mon_fail("model '%s': expected zoo:NAME, dir:PATH, hf:PATH or shape:WORKLOAD", spec);
  }
  struct stat sb;
  char cfg[sizeof((real_model *)0)->dir + 16];
  snprintf(cfg, sizeof cfg, "%s/config.json", out);
  if (stat(cfg, &sb))
    return mon_fail("model '%s' with nblocks %d: no %s (zoo models: 'make models')", spec, nblocks,
                    cfg);
  return 0;
}

static const char *shape_name(const char *spec) {
  return is_prefix(spec, "shape:") ? spec + 6 : NULL;
}

/* Periphery options: sweep key, the values meaning 0 and 1 of the hardware field. */
static const struct {
  const char *key, *v0, *v1;
} periphery_opts[4] = {{"option.adc_per", "column", "pair"},
                       {"option.in_encoding", "twos", "signmag"},
                       {"option.in_range", "dynamic", "static"},
                       {"option.adc_cal", "step", "slice"}};

static int real_check(const char *key, const char *value) {
  if (!strcmp(key, "models")) {
    if (shape_name(value)) {
      map_model mm;
      map_model_init(&mm, "check");
      int rc = map_model_workload(&mm, shape_name(value), 0);
      map_model_destroy(&mm);
      return rc;
    }
    if (is_prefix(value, "zoo:") || is_prefix(value, "dir:") || is_prefix(value, "hf:")) return 0;
    return mon_fail("model '%s': expected zoo:NAME, dir:PATH, hf:PATH or shape:WORKLOAD", value);
  }
  if (!strcmp(key, "mappings")) return map_strategy_find(value) ? 0 : -1;
  if (!strcmp(key, "noise")) return cim_noise_check(value);
  if (!strcmp(key, "hardware")) {
    if (!strcmp(value, "default")) return 0;
    map_hw hw;
    return map_hw_load(&hw, value);
  }
  if (!strcmp(key, "nblocks")) {
    long v = strtol(value, NULL, 10);
    return v >= 1 ? 0 : mon_fail("nblocks %s: expected an integer >= 1 (1 = dense)", value);
  }
  if (!strcmp(key, "option.eval_chars")) {
    char *end;
    long long v = strtoll(value, &end, 10);
    return *value && !*end && v > 0 && v <= 100000000
               ? 0
               : mon_fail("expected a number of positions in 1..1e8, got '%s'", value);
  }
  if (!strcmp(key, "option.attn_bits")) {
    char *end;
    long v = strtol(value, &end, 10);
    return *value && !*end && v >= 2 && v <= 24
               ? 0
               : mon_fail("expected attention bits in 2..24, got '%s'", value);
  }
  if (!strcmp(key, "option.adc_range"))
    return !strcmp(value, "fullscale") || !strcmp(value, "calibrated")
               ? 0
               : mon_fail("expected fullscale or calibrated, got '%s'", value);
  if (!strcmp(key, "option.adc_percentile")) {
    char *end;
    double v = strtod(value, &end);
    return *value && !*end && v > 0 && v <= 100
               ? 0
               : mon_fail("expected a percentile in (0, 100], got '%s'", value);
  }
  for (int i = 0; i < 4; i++)
    if (!strcmp(key, periphery_opts[i].key))
      return !strcmp(value, periphery_opts[i].v0) || !strcmp(value, periphery_opts[i].v1)
                 ? 0
                 : mon_fail("expected %s or %s, got '%s'", periphery_opts[i].v0,
                            periphery_opts[i].v1, value);
  if (!strcmp(key, "option.calibrate_on"))
    return !strcmp(value, "eval") || !strcmp(value, "heldout")
               ? 0
               : mon_fail("expected eval or heldout, got '%s'", value);
  if (!strcmp(key, "option.in_percentile")) {
    char *end;
    double v = strtod(value, &end);
    return *value && !*end && v > 0 && v <= 100
               ? 0
               : mon_fail("expected a percentile in (0, 100], got '%s'", value);
  }
  if (!strcmp(key, "option.calibrate_positions")) {
    char *end;
    long long v = strtoll(value, &end, 10);
    return *value && !*end && v > 0 && v <= 100000000
               ? 0
               : mon_fail("expected a number of positions in 1..1e8, got '%s'", value);
  }
  if (!strcmp(key, "option.models_dir")) {
    struct stat sb;
    return !stat(value, &sb) && S_ISDIR(sb.st_mode) ? 0
                                                    : mon_fail("'%s' is not a directory", value);
  }
  if (!strcmp(key, "digital_lanes")) { /* the axis: 0 = the hardware's (or option's) */
    map_settings tmp;
    return !strcmp(value, "0") ? 0 : map_settings_set(&tmp, key, value);
  }
  if (is_prefix(key, "option.") && map_setting_find(key + 7) >= 0) {
    map_settings tmp;
    return map_settings_set(&tmp, key + 7, value);
  }
  if (!strcmp(key, "option.eval_text")) {
    struct stat sb;
    return !stat(value, &sb) && S_ISREG(sb.st_mode)
               ? 0
               : mon_fail("'%s' is not a readable text file", value);
  }
  if (is_prefix(key, "option."))
    return mon_fail(
        "unknown option (expected eval_chars, eval_text, models_dir, attn_bits, adc_range, "
        "adc_percentile, dense_layout, dense_row_split, share_rows, digital_lanes, "
        "fold_permute, adc_lossless, adc_per, in_encoding, in_range, in_percentile, adc_cal, "
        "calibrate_on, calibrate_positions)");
  return 0;
}

static int real_create(void **state, const job_sweep *s) {
  real_state *st = calloc(1, sizeof *st);
  if (!st) return mon_fail("out of memory");
  st->sweep_dir = strdup(s->dir ? s->dir : ".");
  if (!st->sweep_dir) {
    free(st);
    return mon_fail("out of memory");
  }
  const char *md = job_sweep_option(s, "models_dir");
  if (!md) md = getenv("MONCIM_MODELS_DIR");
  snprintf(st->models_dir, sizeof st->models_dir, "%s", md ? md : MONCIM_SOURCE_DIR "/models");
  const char *et = job_sweep_option(s, "eval_text");
  snprintf(st->eval_text, sizeof st->eval_text, "%s", et ? et : "");
  const char *ec = job_sweep_option(s, "eval_chars");
  st->eval_chars = ec ? strtoll(ec, NULL, 10) : et ? -1 : REAL_DEFAULT_EVAL_CHARS;
  const char *ab = job_sweep_option(s, "attn_bits");
  st->attn_bits = ab ? (int)strtol(ab, NULL, 10) : 0;
  const char *ar = job_sweep_option(s, "adc_range");
  st->calibrated = ar && !strcmp(ar, "calibrated");
  const char *ap = job_sweep_option(s, "adc_percentile");
  st->percentile = ap ? strtod(ap, NULL) : -1;
  map_settings_init(&st->set);
  for (int k = 0; k < MAP_NSETTINGS; k++) {
    const char *v = job_sweep_option(s, map_setting_names[k]);
    if (v && map_settings_set(&st->set, map_setting_names[k], v)) {
      free(st);
      return mon_fail_ctx("option.%s", map_setting_names[k]);
    }
  }
  for (int i = 0; i < 4; i++) {
    const char *v = job_sweep_option(s, periphery_opts[i].key + 7);
    st->per[i] = v ? !strcmp(v, periphery_opts[i].v1) : -1;
  }
  const char *ip = job_sweep_option(s, "in_percentile");
  st->in_percentile = ip ? strtod(ip, NULL) : -1;
  const char *co = job_sweep_option(s, "calibrate_on");
  st->heldout = co && !strcmp(co, "heldout");
  const char *cp = job_sweep_option(s, "calibrate_positions");
  st->cal_positions = cp ? strtoll(cp, NULL, 10) : 1024;
  *state = st;
  return 0;
}

static void model_free(real_model *rm) {
  mon_model_destroy(&rm->model);
  pipe_reference_destroy(&rm->ref);
  free(rm);
}

static void real_destroy(void *state) {
  real_state *st = state;
  if (!st) return;
  for (int i = 0; i < st->nmodels; i++) model_free(st->models[i]);
  free(st->train);
  free(st->eval);
  free(st->sweep_dir);
  free(st);
}

/* The job's hardware: the file as the sweep's check found it (or built-in defaults) with the
 * job's converter resolutions and the sweep's periphery options. */
static int job_hw(const real_state *st, const job_params *p, map_hw *hw) {
  char path[2 * JOB_PATH_LEN];
  job_sweep where = {.dir = st->sweep_dir};
  if (!strcmp(p->hardware, "default")) {
    map_hw_default(hw);
  } else if (job_hardware_path(&where, p->hardware, path, sizeof path) || map_hw_load(hw, path)) {
    return -1;
  }
  hw->adc_bits = p->adc_bits;
  hw->dac_bits = p->dac_bits;
  int *fld[4] = {&hw->adc_per_pair, &hw->in_sign_magnitude, &hw->in_range_static,
                 &hw->adc_cal_per_slice};
  for (int i = 0; i < 4; i++)
    if (st->per[i] >= 0) *fld[i] = st->per[i];
  return map_hw_validate(hw, !strcmp(p->hardware, "default") ? "hw" : p->hardware);
}

/* Loads (or finds) a model and its float evaluation. */
static int get_model(real_state *st, const char *dir, real_model **out) {
  for (int i = 0; i < st->nmodels; i++)
    if (!strcmp(st->models[i]->dir, dir)) {
      st->st.hits++;
      *out = st->models[i];
      return 0;
    }
  st->st.misses++;
  if (!st->eval &&
      (st->eval_text[0] ? pipe_read_text(st->eval_text, &st->eval, &st->neval)
                        : mon_kjv_text(&st->train, &st->ntrain, &st->eval, &st->neval)))
    return -1;
  if (st->nmodels == (int)(sizeof st->models / sizeof st->models[0])) {
    /* Evict the oldest: sweeps walk models outermost, so it is not needed again soon. */
    model_free(st->models[0]);
    memmove(st->models, st->models + 1, (size_t)(st->nmodels - 1) * sizeof st->models[0]);
    st->nmodels--;
  }
  real_model *rm = calloc(1, sizeof *rm);
  if (!rm) return mon_fail("out of memory");
  snprintf(rm->dir, sizeof rm->dir, "%s", dir);
  if (mon_model_load(&rm->model, dir)) {
    free(rm);
    return -1;
  }
  if (pipe_reference_eval(&rm->ref, &rm->model, st->eval, st->neval, st->eval_chars)) {
    model_free(rm);
    return mon_fail_ctx("%s", dir);
  }
  st->models[st->nmodels++] = rm;
  *out = rm;
  return 0;
}

static int real_plan(void *state, const job_params *p, int *nlayers) {
  real_state *st = state;
  const char *shape = shape_name(p->model);
  if (shape) {
    map_model mm;
    map_model_init(&mm, p->model);
    int rc = map_model_workload(&mm, shape, p->nblocks <= 1 ? 0 : p->nblocks);
    *nlayers = mm.nlayers;
    map_model_destroy(&mm);
    return rc;
  }
  char dir[sizeof((real_model *)0)->dir], cfgp[sizeof dir + 16];
  if (model_dir(st, p->model, p->nblocks, dir, sizeof dir)) return -1;
  snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
  mon_gpt2_config c;
  if (mon_gpt2_config_read(&c, cfgp)) return -1;
  *nlayers = c.n_layer * MON_LIN_KINDS;
  return 0;
}

/* Relative cost: analog MACs of the evaluation (weights x positions x DAC steps x slices), or
 * the stream size for cost-only workloads. */
static double real_estimate(void *state, const job_params *p) {
  real_state *st = state;
  double dac_steps = ceil(8.0 / (p->dac_bits > 0 ? p->dac_bits : 1));
  double dens = p->nblocks > 1 ? 2.0 / p->nblocks : 1.0;
  if (!strcmp(p->mapping, "linear")) dens = 1.0;
  if (shape_name(p->model)) return 1e-3 * dac_steps * dens;
  return (double)(st->eval_chars > 0 ? st->eval_chars : REAL_DEFAULT_EVAL_CHARS) * dac_steps *
         dens * (strcmp(p->noise, "none") ? 1.5 : 1.0);
}

/* ------------------------------------------------------------------ run */

static int real_run(void *state, const job_params *p, job_metrics *m, job_layer *layers) {
  real_state *st = state;
  map_hw hw;
  map_model shape;
  real_model *rm = NULL;
  int rc = -1;
  job_metrics_nan(m);
  map_model_init(&shape, p->model);
  const map_strategy *sg = map_strategy_find(p->mapping);
  if (!sg || job_hw(st, p, &hw)) goto out;
  map_options opt = {0};
  map_settings_apply(&st->set, &hw, &opt);
  if (p->digital_lanes > 0) hw.digital_lanes = p->digital_lanes;
  const char *shape_spec = shape_name(p->model);
  if (shape_spec) {
    if (map_model_workload(&shape, shape_spec, p->nblocks <= 1 ? 0 : p->nblocks)) goto out;
  } else {
    char dir[sizeof((real_model *)0)->dir];
    if (model_dir(st, p->model, p->nblocks, dir, sizeof dir) || get_model(st, dir, &rm)) goto out;
    int nb = rm->model.cfg.monarch_nblocks;
    if (nb != (p->nblocks <= 1 ? 0 : p->nblocks)) {
      mon_fail("%s: config.json says monarch_nblocks %d but the job asks for nblocks %d", dir, nb,
               p->nblocks);
      goto out;
    }
  }
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  snprintf(cfg.noise, sizeof cfg.noise, "%s", p->noise_spec);
  cfg.seed = (uint64_t)p->seed;
  if (st->calibrated) cfg.adc_range = CIM_ADC_CALIBRATED;
  if (st->percentile > 0) cfg.adc_percentile = st->percentile;
  if (st->in_percentile > 0) cfg.in_percentile = st->in_percentile;
  const uint8_t *ct = NULL;
  size_t nct = 0;
  if (rm && st->heldout &&
      cim_heldout_text(st->eval, st->neval, rm->model.cfg.n_positions, rm->ref.positions,
                       st->cal_positions, &ct, &nct))
    goto out;
  pipe_job j = {.model = rm ? &rm->model : NULL,
                .shape = rm ? NULL : &shape,
                .hw = &hw,
                .strategy = sg->id,
                .opt = &opt,
                .cfg = &cfg,
                .text = st->eval,
                .ntext = st->neval,
                .ref = rm ? &rm->ref : NULL,
                .attn_bits = st->attn_bits,
                .cal_text = ct,
                .ncal = nct,
                .cal_positions = st->cal_positions};
  rc = pipe_run(&j, m, layers, NULL);
out:
  if (rc)
    mon_fail_ctx("job %lld (%s, nblocks %d, %s)", (long long)p->index, p->model, p->nblocks,
                 p->mapping);
  map_model_destroy(&shape);
  return rc;
}

static void real_stats(void *state, job_cache_stats *s) {
  *s = ((real_state *)state)->st;
}

const job_executor pipe_executor = {
    .name = "real",
    .summary = "the pipeline: model, mapping, cimsim (accuracy, latency, energy, area)",
    .check = real_check,
    .create = real_create,
    .destroy = real_destroy,
    .plan = real_plan,
    .estimate = real_estimate,
    .run = real_run,
    .stats = real_stats,
};
