/* The real job executor: one sweep job = load (or reuse) a model, map it on the hardware with
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
 *   shape:NAME   a shape-only workload of mapping/ (bert-large, gpt2-medium, bart-large,
 *                zoo-shape): cost only, the accuracy columns are NaN.
 *
 * Options: option.eval_chars (positions scored, default 4096), option.models_dir,
 * option.attn_bits (digital attention operands rounded to that many bits in the simulated run;
 * default float; mon_eval_opts.attn_bits), option.adc_range = fullscale | calibrated and
 * option.adc_percentile (calibrated ADC ranges: cimsim calibrates each layer on the first batch
 * it simulates; docs/analog-model.md).
 *
 * Per-rank caches (the expensive shared work): loaded models with their float evaluation
 * (bits/char, top-1 and the per-position predictions the agreement column compares against),
 * and the evaluation text. A job's results depend on its parameters only: the model and the
 * simulator are deterministic for any thread count, and cimsim keys its noise by the job seed.
 */
#include "bench.h"
#include "cimsim.h"
#include "jobs.h"
#include "model.h"
#include "mapping.h"

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
  int64_t positions;
  double bpc, top1; /* float reference */
  int32_t *pred;    /* (positions) float top-1 predictions */
} real_model;

typedef struct {
  char models_dir[JOB_PATH_LEN];
  int64_t eval_chars;
  int attn_bits;
  int calibrated;
  double percentile;
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
  } else if (is_prefix(spec, "dir:")) {
    if ((size_t)snprintf(out, n, "%s", spec + 4) >= n)
      return mon_fail("model path too long: '%s'", spec);
  } else {
    return mon_fail("model '%s': expected zoo:NAME, dir:PATH or shape:WORKLOAD", spec);
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

static int real_check(const char *key, const char *value) {
  if (!strcmp(key, "models")) {
    if (shape_name(value)) {
      map_model mm;
      map_model_init(&mm, "check");
      int rc = map_model_workload(&mm, shape_name(value), 0);
      map_model_destroy(&mm);
      return rc;
    }
    if (is_prefix(value, "zoo:") || is_prefix(value, "dir:")) return 0;
    return mon_fail("model '%s': expected zoo:NAME, dir:PATH or shape:WORKLOAD", value);
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
  if (!strcmp(key, "option.models_dir")) {
    struct stat sb;
    return !stat(value, &sb) && S_ISDIR(sb.st_mode) ? 0
                                                    : mon_fail("'%s' is not a directory", value);
  }
  if (is_prefix(key, "option."))
    return mon_fail(
        "unknown option (expected eval_chars, models_dir, attn_bits, adc_range, adc_percentile)");
  return 0;
}

static int real_create(void **state, const job_sweep *s) {
  real_state *st = calloc(1, sizeof *st);
  if (!st) return mon_fail("out of memory");
  const char *md = job_sweep_option(s, "models_dir");
  if (!md) md = getenv("MONCIM_MODELS_DIR");
  snprintf(st->models_dir, sizeof st->models_dir, "%s", md ? md : MONCIM_SOURCE_DIR "/models");
  const char *ec = job_sweep_option(s, "eval_chars");
  st->eval_chars = ec ? strtoll(ec, NULL, 10) : REAL_DEFAULT_EVAL_CHARS;
  const char *ab = job_sweep_option(s, "attn_bits");
  st->attn_bits = ab ? (int)strtol(ab, NULL, 10) : 0;
  const char *ar = job_sweep_option(s, "adc_range");
  st->calibrated = ar && !strcmp(ar, "calibrated");
  const char *ap = job_sweep_option(s, "adc_percentile");
  st->percentile = ap ? strtod(ap, NULL) : -1;
  *state = st;
  return 0;
}

static void real_destroy(void *state) {
  real_state *st = state;
  if (!st) return;
  for (int i = 0; i < st->nmodels; i++) {
    mon_model_destroy(&st->models[i]->model);
    free(st->models[i]->pred);
    free(st->models[i]);
  }
  free(st->train);
  free(st->eval);
  free(st);
}

/* The job's hardware: the file (or built-in defaults) with the job's converter resolutions. */
static int job_hw(const job_params *p, map_hw *hw) {
  if (!strcmp(p->hardware, "default")) {
    map_hw_default(hw);
  } else if (map_hw_load(hw, p->hardware)) {
    return -1;
  }
  hw->adc_bits = p->adc_bits;
  hw->dac_bits = p->dac_bits;
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
  if (!st->eval && mon_kjv_text(&st->train, &st->ntrain, &st->eval, &st->neval)) return -1;
  if (st->nmodels == (int)(sizeof st->models / sizeof st->models[0])) {
    /* Evict the oldest: sweeps walk models outermost, so it is not needed again soon. */
    mon_model_destroy(&st->models[0]->model);
    free(st->models[0]->pred);
    free(st->models[0]);
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
  rm->positions = st->eval_chars;
  rm->pred = malloc((size_t)rm->positions * sizeof *rm->pred);
  mon_eval_opts o = {.positions = rm->positions, .pred = rm->pred};
  mon_eval_result r;
  if (!rm->pred || mon_model_eval(&rm->model, st->eval, st->neval, &o, &r)) {
    if (!rm->pred) mon_fail("out of memory");
    mon_model_destroy(&rm->model);
    free(rm->pred);
    free(rm);
    return mon_fail_ctx("float evaluation of %s", dir);
  }
  rm->positions = r.positions;
  rm->bpc = r.bpc;
  rm->top1 = r.top1;
  st->models[st->nmodels++] = rm;
  *out = rm;
  return 0;
}

/* The map_model of a job: from the loaded model, or a shape-only workload. */
static int job_map_model(real_state *st, const job_params *p, map_model *mm, real_model **rm) {
  *rm = NULL;
  map_model_init(mm, p->model);
  const char *shape = shape_name(p->model);
  if (shape) return map_model_workload(mm, shape, p->nblocks <= 1 ? 0 : p->nblocks);
  char dir[sizeof((real_model *)0)->dir];
  if (model_dir(st, p->model, p->nblocks, dir, sizeof dir) || get_model(st, dir, rm)) return -1;
  int nb = (*rm)->model.cfg.monarch_nblocks;
  if (nb != (p->nblocks <= 1 ? 0 : p->nblocks))
    return mon_fail("%s: config.json says monarch_nblocks %d but the job asks for nblocks %d", dir,
                    nb, p->nblocks);
  return cim_model_from_mon(mm, &(*rm)->model, (*rm)->model.cfg.n_positions);
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
  return (double)st->eval_chars * dac_steps * dens * (strcmp(p->noise, "none") ? 1.5 : 1.0);
}

/* ------------------------------------------------------------------ run */

static int real_run(void *state, const job_params *p, job_metrics *m, job_layer *layers) {
  real_state *st = state;
  map_hw hw;
  map_model mm;
  real_model *rm = NULL;
  cim_runner *run = NULL;
  map_cost *lc = NULL;
  map_mapping mpl = {0};
  map_stream csl = {0};
  int rc = -1;
  job_metrics_nan(m);
  if (job_hw(p, &hw)) return mon_fail_ctx("job %lld", (long long)p->index);
  const map_strategy *sg = map_strategy_find(p->mapping);
  if (!sg) return mon_fail_ctx("job %lld", (long long)p->index);
  if (job_map_model(st, p, &mm, &rm)) goto out;

  /* Shape-only workloads need no weights: map and schedule for the cost model only. */
  if (!rm) {
    if (map_build(&mpl, &mm, &hw, sg->id, NULL) || map_schedule(&csl, &mpl, &mm, &hw)) goto out;
  } else {
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    snprintf(cfg.noise, sizeof cfg.noise, "%s", p->noise_spec);
    cfg.seed = (uint64_t)p->seed;
    if (st->calibrated) cfg.adc_range = CIM_ADC_CALIBRATED;
    if (st->percentile > 0) cfg.adc_percentile = st->percentile;
    if (cim_runner_create(&run, &mm, &hw, sg->id, NULL, &cfg)) goto out;
  }

  /* Accuracy: the model with every linear layer executed by the simulator. */
  if (rm) {
    int32_t *pred = malloc((size_t)rm->positions * sizeof *pred);
    if (!pred) {
      mon_fail("out of memory");
      goto out;
    }
    mon_eval_opts o = {
        .positions = rm->positions, .hook = cim_linear_hook, .hook_ctx = run, .pred = pred};
    mon_eval_result r;
    int erc = mon_model_eval(&rm->model, st->eval, st->neval, &o, &r);
    if (!erc) {
      int64_t agree = 0;
      for (int64_t i = 0; i < r.positions; i++) agree += pred[i] == rm->pred[i];
      m->bpc = r.bpc;
      m->top1 = r.top1;
      m->bpc_float = rm->bpc;
      m->top1_float = rm->top1;
      m->agreement = r.positions ? (double)agree / (double)r.positions : NAN;
      m->eval_chars = r.positions;
    }
    free(pred);
    if (erc) goto out;
  }

  /* Cost of one token. */
  const map_mapping *mp = run ? cim_runner_mapping(run) : &mpl;
  const map_stream *cs = run ? cim_runner_stream(run) : &csl;
  lc = calloc((size_t)mm.nlayers, sizeof *lc);
  map_cost c;
  if (!lc) {
    mon_fail("out of memory");
    goto out;
  }
  if (map_cost_compute(&c, lc, cs, mp, &mm, &hw)) goto out;
  m->latency_ns = c.latency_ns;
  m->latency_array_ns = c.latency_array_ns;
  m->latency_adc_ns = c.latency_adc_ns;
  m->latency_digital_ns = c.latency_digital_ns;
  m->energy_pj = c.energy_pj;
  m->energy_dac_pj = c.energy_dac_pj;
  m->energy_array_pj = c.energy_array_pj;
  m->energy_adc_pj = c.energy_adc_pj;
  m->energy_shiftadd_pj = c.energy_shiftadd_pj;
  m->energy_digital_pj = c.energy_digital_pj;
  m->energy_buffer_pj = c.energy_buffer_pj;
  m->area_mm2 = c.area_mm2;
  m->area_array_mm2 = c.area_array_mm2;
  m->area_adc_mm2 = c.area_adc_mm2;
  m->area_dac_mm2 = c.area_dac_mm2;
  m->area_digital_mm2 = c.area_digital_mm2;
  m->arrays = c.arrays;
  m->crossbars = c.crossbars;
  m->adcs = c.adcs;
  m->dacs = c.dacs;
  m->conversions = c.conversions;
  m->steps = c.steps;
  m->utilization = c.utilization;

  /* Per layer. */
  double err_sum = 0;
  int err_n = 0;
  int64_t weights = 0;
  for (int l = 0; l < mm.nlayers; l++) {
    const map_layer *ml = &mm.layer[l];
    job_layer *L = &layers[l];
    job_layer_nan(L);
    snprintf(L->name, sizeof L->name, "%.*s", (int)sizeof L->name - 1, ml->name);
    snprintf(L->mapping, sizeof L->mapping, "%s", map_strategies[mp->lmap[l].strategy].name);
    L->in = ml->in;
    L->out = ml->out;
    L->nblocks = ml->is_monarch ? ml->nblocks : 1;
    int64_t lw = ml->is_monarch ? (int64_t)ml->k * ml->q * ml->p + (int64_t)ml->l * ml->s * ml->r
                                : (int64_t)ml->out * ml->in;
    weights += lw;
    L->arrays = lc[l].arrays;
    L->adcs = lc[l].adcs;
    L->utilization = lc[l].utilization;
    L->latency_ns = lc[l].latency_ns;
    L->energy_pj = lc[l].energy_pj;
    L->area_mm2 = lc[l].area_mm2;
    L->energy_adc_pj = lc[l].energy_adc_pj;
    L->area_adc_mm2 = lc[l].area_adc_mm2;
    L->conversions = lc[l].conversions;
    if (rm) {
      L->out_rel_err = cim_runner_layer_err(run, l);
      if (isfinite(L->out_rel_err)) err_sum += L->out_rel_err, err_n++;
    }
  }
  m->weights = weights;
  if (err_n) m->out_rel_err = err_sum / err_n;
  rc = 0;
out:
  if (rc)
    mon_fail_ctx("job %lld (%s, nblocks %d, %s)", (long long)p->index, p->model, p->nblocks,
                 p->mapping);
  free(lc);
  if (run) cim_runner_destroy(run);
  map_stream_destroy(&csl);
  map_mapping_destroy(&mpl);
  map_model_destroy(&mm);
  return rc;
}

static void real_stats(void *state, job_cache_stats *s) {
  *s = ((real_state *)state)->st;
}

const job_executor bench_executor_real = {
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
