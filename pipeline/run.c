/* One job end to end: map, program, evaluate on the simulator, cost (pipeline.h). */
#include "pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int pipe_reference_eval(pipe_reference *ref, const mon_model *m, const uint8_t *text, size_t n,
                        int64_t positions) {
  memset(ref, 0, sizeof *ref);
  if (positions == 0) return mon_fail("positions 0: expected >= 1, or < 0 for the whole text");
  /* the whole text: at most one token per byte */
  size_t np = positions > 0 ? (size_t)positions : (n ? n : 1);
  ref->pred = malloc(np * sizeof *ref->pred);
  if (!ref->pred) return mon_fail("out of memory (%lld predictions)", (long long)positions);
  mon_eval_opts o = {.positions = positions, .pred = ref->pred};
  mon_eval_result r;
  if (mon_model_eval(m, text, n, &o, &r)) return mon_fail_ctx("float evaluation");
  ref->positions = r.positions;
  ref->bpc = r.bpc;
  ref->top1 = r.top1;
  return 0;
}

void pipe_reference_destroy(pipe_reference *ref) {
  free(ref->pred);
  memset(ref, 0, sizeof *ref);
}

int pipe_nlayers(const pipe_job *j) {
  return j->model ? j->model->cfg.n_layer * MON_LIN_KINDS : j->shape->nlayers;
}

/* Accuracy: the model with every linear layer executed by the simulator, against ref. */
static int evaluate(const pipe_job *j, cim_runner *run, job_metrics *m) {
  const pipe_reference *ref = j->ref;
  int32_t *pred = malloc((size_t)ref->positions * sizeof *pred);
  if (!pred) return mon_fail("out of memory");
  mon_eval_opts o = {.positions = ref->positions,
                     .hook = cim_linear_hook,
                     .hook_ctx = run,
                     .pred = pred,
                     .attn_bits = j->attn_bits};
  mon_eval_result r;
  if (mon_model_eval(j->model, j->text, j->ntext, &o, &r)) {
    free(pred);
    return mon_fail_ctx("simulated evaluation");
  }
  int64_t agree = 0;
  for (int64_t i = 0; i < r.positions && i < ref->positions; i++) agree += pred[i] == ref->pred[i];
  free(pred);
  m->bpc = r.bpc;
  m->top1 = r.top1;
  m->bpc_float = ref->bpc;
  m->top1_float = ref->top1;
  m->agreement = r.positions ? (double)agree / (double)r.positions : NAN;
  m->eval_chars = r.positions;
  return 0;
}

/* The cost of one token and the per-layer rows. */
static int account(const pipe_job *j, const map_model *mm, const map_mapping *mp,
                   const map_stream *cs, cim_runner *run, job_metrics *m, job_layer *layers) {
  map_cost c, *lc = calloc((size_t)mm->nlayers, sizeof *lc);
  if (!lc) return mon_fail("out of memory");
  if (map_cost_compute(&c, lc, cs, mp, mm, j->hw)) {
    free(lc);
    return -1;
  }
#define PIPE_COPY_COST(type, name, unit, doc) m->name = c.name;
  MON_COST_METRICS(PIPE_COPY_COST)
  m->dense_layout = mp->dense_layout;
  m->dense_row_split = mp->dense_row_split;
  m->share_rows = j->opt ? j->opt->share_rows : 0;
  m->digital_lanes = j->hw->digital_lanes;
  m->fold_permute = j->hw->fold_permute;
  m->adc_lossless = j->hw->adc_lossless;
  double err_sum = 0;
  int err_n = 0;
  int64_t weights = 0;
  for (int l = 0; l < mm->nlayers; l++) {
    const map_layer *ml = &mm->layer[l];
    weights += ml->is_monarch ? (int64_t)ml->k * ml->q * ml->p + (int64_t)ml->l * ml->s * ml->r
                              : (int64_t)ml->out * ml->in;
    double err = run ? cim_runner_layer_err(run, l) : NAN;
    if (isfinite(err)) err_sum += err, err_n++;
    if (!layers) continue;
    job_layer *L = &layers[l];
    job_layer_nan(L);
    snprintf(L->name, sizeof L->name, "%.*s", (int)sizeof L->name - 1, ml->name);
    snprintf(L->mapping, sizeof L->mapping, "%s", map_strategies[mp->lmap[l].strategy].name);
    L->in = ml->in;
    L->out = ml->out;
    L->nblocks = ml->is_monarch ? ml->nblocks : 1;
#define PIPE_COPY_LAYER_COST(type, name, unit, doc) L->name = lc[l].name;
    MON_LAYER_COST_METRICS(PIPE_COPY_LAYER_COST)
    L->out_rel_err = err;
  }
  free(lc);
  m->weights = weights;
  if (err_n) m->out_rel_err = err_sum / err_n;
  return 0;
}

int pipe_run(const pipe_job *j, job_metrics *m, job_layer *layers, pipe_timing *t) {
  job_metrics_nan(m);
  if (t) t->setup_s = t->sim_s = 0;
  if (!j->model && !j->shape) return mon_fail("a job needs a model or a shape-only workload");
  if (j->model && (!j->ref || !j->text))
    return mon_fail("a job with a model needs the evaluation text and its float reference");
  map_model own;
  const map_model *mm = j->shape;
  map_mapping mpl = {0};
  map_stream csl = {0};
  cim_runner *run = NULL;
  int rc = -1;
  memset(&own, 0, sizeof own);
  double t0 = now_s();
  if (j->model) {
    /* Weights need the simulator: it maps, schedules and programs. */
    if (cim_model_from_mon(&own, j->model, j->model->cfg.n_positions)) goto out;
    mm = &own;
    if (cim_runner_create(&run, mm, j->hw, j->strategy, j->opt, j->cfg)) goto out;
    if (j->cal_text && cim_calibrate_model(run, j->model, j->cal_text, j->ncal, j->cal_positions))
      goto out;
  } else if (map_build(&mpl, mm, j->hw, j->strategy, j->opt) ||
             map_schedule(&csl, &mpl, mm, j->hw)) {
    goto out;
  }
  double t1 = now_s();
  if (run && evaluate(j, run, m)) goto out;
  double t2 = now_s();
  if (t) t->setup_s = t1 - t0, t->sim_s = t2 - t1;
  rc = account(j, mm, run ? cim_runner_mapping(run) : &mpl, run ? cim_runner_stream(run) : &csl,
               run, m, layers);
  m->adc_per_pair = j->hw->adc_per_pair;
  m->in_sign_magnitude = j->hw->in_sign_magnitude;
  m->in_range_static = j->hw->in_range_static;
  m->adc_calibrated = j->cfg && j->cfg->adc_range == CIM_ADC_CALIBRATED;
  m->adc_cal_per_slice = j->hw->adc_cal_per_slice;
  m->cal_heldout = j->cal_text != NULL;
  if (run) m->in_clip_frac = cim_runner_input_clip_frac(run);
  if (run) m->state_mib = (double)cim_runner_state_bytes(run) / 1048576.0;
out:
  cim_runner_destroy(run);
  map_stream_destroy(&csl);
  map_mapping_destroy(&mpl);
  if (own.layer) map_model_destroy(&own);
  return rc;
}

int pipe_read_text(const char *path, uint8_t **text, size_t *n) {
  *text = NULL, *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return mon_fail("%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return mon_fail("%s: not a regular file", path);
  }
  uint8_t *b = malloc((size_t)sb.st_size + 1);
  size_t got = b ? fread(b, 1, (size_t)sb.st_size, f) : 0;
  int err = !b || ferror(f);
  fclose(f);
  if (err) {
    free(b);
    return mon_fail("%s: read error or out of memory", path);
  }
  b[got] = 0;
  *text = b, *n = got;
  return 0;
}
