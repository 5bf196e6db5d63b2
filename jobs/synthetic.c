/* The synthetic executor: a stand-in for the real pipeline, used to test and benchmark the
 * sweep harness (distribution, HDF5 output, resume, merge) without models or simulators.
 *
 * Its metrics are NOT research results: they are smooth, plausible-looking functions of the
 * job parameters plus counter-based pseudo-random terms keyed by the job id (mon_hash64), so
 * they are exactly reproducible on any rank and thread count. Its cost is real CPU work
 * (`option.synthetic_work` million hash rounds per job, times the model's factor: model
 * "syn:xN" costs N units), spread over OpenMP threads with an order-independent XOR reduction.
 * A per-rank cache of "shared setup" (one per model and nblocks, `option.synthetic_setup_work`
 * million rounds) stands for the real pipeline's caches of loaded models and D2S variants.
 * `option.synthetic_fail_seed = S` makes the jobs of seed S fail (to test failure rows).
 * `option.synthetic_sleep = SEC` adds SEC seconds of wall time per job without using a CPU,
 * which holds a sweep open cheaply for the tests of locks and signals.
 */
#include "jobs.h"
#include "base.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  char model[JOB_MODEL_LEN];
  int nblocks;
} syn_key;

typedef struct {
  double work;       /* million hash rounds per cost unit */
  double setup_work; /* million rounds per cache miss */
  long fail_seed;    /* seed whose jobs fail; -1 = none */
  double sleep_s;    /* wall time added per job, s */
  int ncache, capcache;
  syn_key *cache;
  job_cache_stats st;
} syn_state;

static volatile uint64_t syn_sink; /* keeps the burned work observable to the compiler */

static int parse_nonneg(const char *v, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end || !(d >= 0) || d > 1e6) return -1;
  *out = d;
  return 0;
}

static int syn_check(const char *key, const char *value) {
  if (!strcmp(key, "mappings")) {
    static const char *ok[] = {"linear", "sparse", "dense", "auto"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
      if (!strcmp(value, ok[i])) return 0;
    return mon_fail("unknown mapping '%s' (expected linear, sparse, dense or auto)", value);
  }
  if (!strcmp(key, "hardware")) {
    if (!strcmp(value, "default")) return 0;
    FILE *f = fopen(value, "r");
    if (!f) return mon_fail("cannot open hardware file '%s'", value);
    fclose(f);
    return 0;
  }
  double d;
  if (!strcmp(key, "option.synthetic_work") || !strcmp(key, "option.synthetic_setup_work"))
    return parse_nonneg(value, &d) ? mon_fail("expected a number >= 0 (million hash rounds)") : 0;
  if (!strcmp(key, "option.synthetic_sleep"))
    return parse_nonneg(value, &d) ? mon_fail("expected seconds >= 0") : 0;
  if (!strcmp(key, "option.synthetic_fail_seed"))
    return parse_nonneg(value, &d) ? mon_fail("expected a seed >= 0") : 0;
  /* Other keys (models, noise specs, options of the real pipeline) are accepted as they are,
   * so that every shipped sweep can be dry-run with the synthetic executor. */
  return 0;
}

static double opt_double(const job_sweep *s, const char *key, double dflt) {
  const char *v = job_sweep_option(s, key);
  double d;
  return v && !parse_nonneg(v, &d) ? d : dflt;
}

static int syn_create(void **state, const job_sweep *s) {
  syn_state *st = calloc(1, sizeof *st);
  if (!st) return mon_fail("out of memory");
  st->work = opt_double(s, "synthetic_work", 0.0);
  st->setup_work = opt_double(s, "synthetic_setup_work", 0.0);
  st->sleep_s = opt_double(s, "synthetic_sleep", 0.0);
  st->fail_seed = (long)opt_double(s, "synthetic_fail_seed", -1.0);
  if (!job_sweep_option(s, "synthetic_fail_seed")) st->fail_seed = -1;
  *state = st;
  return 0;
}

static void syn_destroy(void *state) {
  syn_state *st = state;
  if (!st) return;
  free(st->cache);
  free(st);
}

/* Cost factor of a model: "syn:xN" costs N units, anything else 1. */
static double model_factor(const char *model) {
  if (!strncmp(model, "syn:x", 5)) {
    char *end;
    double f = strtod(model + 5, &end);
    if (end != model + 5 && *end == '\0' && f > 0) return f;
  }
  return 1.0;
}

static uint64_t str_key(const char *s) {
  return job_hash64(s, strlen(s));
}

static int syn_plan(void *state, const job_params *p, int *nlayers) {
  (void)state;
  /* 4, 8 or 12 "linear layers", fixed per model. */
  *nlayers = 4 * (int)(1 + str_key(p->model) % 3);
  return 0;
}

static double syn_estimate(void *state, const job_params *p) {
  (void)state;
  return model_factor(p->model);
}

/* Burns `mrounds` million hash rounds over OpenMP threads; the XOR reduction makes the result
 * independent of the thread count and schedule. */
static uint64_t burn(uint64_t key, double mrounds) {
  long long n = (long long)(mrounds * 1e6);
  uint64_t acc = 0;
#pragma omp parallel for default(none) shared(n, key) reduction(^ : acc) schedule(static)
  for (long long i = 0; i < n; i++) acc ^= mon_hash64(key + (uint64_t)i);
  return acc;
}

/* Uniform in [0, 1) from (key, counter). */
static double unif(uint64_t key, uint64_t ctr) {
  return (double)(mon_hash64(key ^ mon_hash64(ctr)) >> 11) * 0x1.0p-53;
}

static int syn_run(void *state, const job_params *p, job_metrics *m, job_layer *layers) {
  syn_state *st = state;
  int nl;
  syn_plan(state, p, &nl);
  if (st->fail_seed >= 0 && p->seed == st->fail_seed)
    return mon_fail("synthetic executor: injected failure for seed %lld", (long long)p->seed);

  /* Shared setup, cached per rank by (model, nblocks). */
  int hit = 0;
  for (int i = 0; i < st->ncache && !hit; i++)
    hit = !strcmp(st->cache[i].model, p->model) && st->cache[i].nblocks == p->nblocks;
  if (hit) {
    st->st.hits++;
  } else {
    st->st.misses++;
    syn_sink ^= burn(str_key(p->model) ^ (uint64_t)p->nblocks, st->setup_work);
    if (st->ncache == st->capcache) {
      int cap = st->capcache ? 2 * st->capcache : 16;
      syn_key *nc = realloc(st->cache, (size_t)cap * sizeof *nc);
      if (!nc) return mon_fail("out of memory");
      st->cache = nc, st->capcache = cap;
    }
    snprintf(st->cache[st->ncache].model, JOB_MODEL_LEN, "%s", p->model);
    st->cache[st->ncache++].nblocks = p->nblocks;
  }
  syn_sink ^= burn(p->id, st->work * model_factor(p->model));
  if (st->sleep_s > 0) {
    struct timespec ts = {(time_t)st->sleep_s, (long)(1e9 * (st->sleep_s - floor(st->sleep_s)))};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
  }

  /* Accuracy: float baseline per (model, nblocks); the analog loss shrinks as 2^-adc_bits,
   * noise adds a seed-dependent penalty. */
  uint64_t mk = str_key(p->model);
  double base = 1.8 + 0.6 * unif(mk, 1) + 0.08 * log2((double)p->nblocks);
  double mapf = !strcmp(p->mapping, "dense") ? 1.5 : !strcmp(p->mapping, "sparse") ? 0.8 : 1.0;
  int noisy = strcmp(p->noise, "none") != 0;
  double loss = 6.0 * mapf * pow(2.0, -p->adc_bits) * (1.0 + 0.5 / p->dac_bits) +
                (noisy ? 0.04 + 0.03 * unif(p->id, 2) : 0.0);
  job_metrics_nan(m);
  m->bpc_float = base;
  m->bpc = base + loss;
  m->top1_float = 0.75 - 0.1 * base;
  m->top1 = m->top1_float - 0.1 * loss;
  m->agreement = exp(-loss);
  m->eval_chars = 4096;

  /* Cost: arrays from the Monarch density 2/nblocks (linear maps the dense matrix), ADCs per
   * array, energy/latency/area as sums of components. */
  double density = p->nblocks > 1 ? 2.0 / p->nblocks : 1.0;
  double arrays = ceil(nl * 16.0 * (!strcmp(p->mapping, "linear") ? 1.0 : density * mapf));
  m->arrays = (int64_t)arrays;
  m->crossbars = m->arrays * 8;
  m->adcs = m->arrays * 32;
  m->dacs = m->arrays * 256;
  m->steps = (int64_t)(arrays * ceil(8.0 / p->dac_bits) * (!strcmp(p->mapping, "dense") ? 4 : 1));
  m->conversions = m->steps * 256;
  m->utilization = !strcmp(p->mapping, "sparse") ? density : 0.9 - 0.1 * unif(p->id, 3);
  m->weights = (int64_t)(nl * 65536.0 * density);
  m->state_mib = (double)m->weights * 16.0 / 1048576.0; /* 8 half-precision levels per weight */
  m->in_clip_frac = 0; /* moncim's default periphery: dynamic input ranges never clip */
  double adc_scale = pow(2.0, p->adc_bits - 8);
  m->energy_dac_pj = 0.05 * m->dacs * (pow(2.0, p->dac_bits) - 1);
  m->energy_array_pj = 0.01 * m->steps * 256.0;
  m->energy_adc_pj = 2.0 * adc_scale * (double)m->conversions;
  m->energy_shiftadd_pj = 0.1 * (double)m->conversions;
  m->energy_digital_pj = 0.5 * (double)m->weights / 64.0;
  m->energy_buffer_pj = 0.2 * (double)m->weights / 32.0;
  m->energy_pj = m->energy_dac_pj + m->energy_array_pj + m->energy_adc_pj + m->energy_shiftadd_pj +
                 m->energy_digital_pj + m->energy_buffer_pj;
  m->latency_array_ns = 10.0 * m->steps / arrays;
  m->latency_adc_ns = 1.0 * adc_scale * 8.0 * m->steps / arrays;
  m->latency_digital_ns = 5.0 * nl;
  m->latency_ns = m->latency_array_ns + m->latency_adc_ns + m->latency_digital_ns;
  m->area_array_mm2 = 0.01 * (double)m->crossbars;
  m->area_adc_mm2 = 0.002 * adc_scale * (double)m->adcs;
  m->area_dac_mm2 = 0.0001 * (double)m->dacs * pow(2.0, p->dac_bits - 1);
  m->area_digital_mm2 = 0.05 * arrays;
  m->area_mm2 = m->area_array_mm2 + m->area_adc_mm2 + m->area_dac_mm2 + m->area_digital_mm2;

  /* Per layer: the totals split by fixed per-model weights. */
  double wsum = 0, out_err = 0;
  for (int l = 0; l < nl; l++) wsum += 1.0 + unif(mk, 100 + (uint64_t)l);
  for (int l = 0; l < nl; l++) {
    job_layer *L = &layers[l];
    double w = (1.0 + unif(mk, 100 + (uint64_t)l)) / wsum;
    job_layer_nan(L);
    snprintf(L->name, sizeof L->name, "h.%d.%s", l / 4,
             (const char *[]){"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}[l % 4]);
    snprintf(L->mapping, sizeof L->mapping, "%s",
             strcmp(p->mapping, "auto") ? p->mapping : (l % 2 ? "dense" : "sparse"));
    L->in = l % 4 == 3 ? 1024 : 256;
    L->out = l % 4 == 0 ? 768 : l % 4 == 2 ? 1024 : 256;
    L->nblocks = p->nblocks;
    L->arrays = (int64_t)ceil(arrays * w);
    L->adcs = L->arrays * 32;
    L->utilization = m->utilization;
    L->latency_ns = m->latency_ns * w;
    L->energy_pj = m->energy_pj * w;
    L->area_mm2 = m->area_mm2 * w;
    L->energy_adc_pj = m->energy_adc_pj * w;
    L->area_adc_mm2 = m->area_adc_mm2 * w;
    L->conversions = (int64_t)((double)m->conversions * w);
    L->out_rel_err = loss * (0.5 + unif(p->id, 300 + (uint64_t)l));
    out_err += L->out_rel_err;
  }
  m->out_rel_err = out_err / nl;
  return 0;
}

static void syn_stats(void *state, job_cache_stats *s) {
  *s = ((syn_state *)state)->st;
}

const job_executor job_executor_synthetic = {
    .name = "synthetic",
    .summary = "stand-in with hashed metrics and configurable CPU cost (tests, benchmarks)",
    .check = syn_check,
    .create = syn_create,
    .destroy = syn_destroy,
    .plan = syn_plan,
    .estimate = syn_estimate,
    .run = syn_run,
    .stats = syn_stats,
};
