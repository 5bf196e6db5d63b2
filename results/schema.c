/* The column tables of every HDF5 dataset: one place that the writer, the reader, the
 * comparisons and SCHEMA.md (checked by tests/test_results.c) agree on. */
#include "results.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define COL(st, field, t, unit, run, doc)                                                          \
  { #field, t, offsetof(st, field), sizeof(((st *)0)->field), unit, run, doc }
#define NCOL(st, name, field, t, unit, run, doc)                                                   \
  { name, t, offsetof(st, field), sizeof(((st *)0)->field), unit, run, doc }

const res_column res_job_columns[] = {
    NCOL(res_row, "job_index", p.index, RES_T_I64, "", 0, "position in the expanded job list"),
    COL(res_row, job_id, RES_T_STR, "", 0, "hash of the canonical parameter string, 16 hex"),
    NCOL(res_row, "model", p.model, RES_T_STR, "", 0, "model spec as written in the sweep"),
    NCOL(res_row, "hardware", p.hardware, RES_T_STR, "", 0, "hardware file as written"),
    NCOL(res_row, "nblocks", p.nblocks, RES_T_I32, "", 0, "Monarch blocks per factor"),
    NCOL(res_row, "mapping", p.mapping, RES_T_STR, "", 0, "mapping strategy"),
    NCOL(res_row, "noise", p.noise, RES_T_STR, "", 0, "noise preset label"),
    NCOL(res_row, "noise_spec", p.noise_spec, RES_T_STR, "", 0, "what the label stands for"),
    NCOL(res_row, "dac_bits", p.dac_bits, RES_T_I32, "bit", 0, "bits per DAC step"),
    NCOL(res_row, "adc_bits", p.adc_bits, RES_T_I32, "bit", 0, "ADC resolution (0 = ideal)"),
    NCOL(res_row, "seed", p.seed, RES_T_I64, "", 0, "Monte-Carlo trial seed"),
    COL(res_row, layer_first, RES_T_I64, "", 0, "first row of this job in /layers"),
    COL(res_row, layer_count, RES_T_I32, "", 0, "rows of this job in /layers"),
    NCOL(res_row, "bpc", m.bpc, RES_T_F64, "bit/char", 0, "bits per character, simulated"),
    NCOL(res_row, "bpc_float", m.bpc_float, RES_T_F64, "bit/char", 0, "bits per char, float"),
    NCOL(res_row, "top1", m.top1, RES_T_F64, "", 0, "next-char top-1 accuracy, simulated"),
    NCOL(res_row, "top1_float", m.top1_float, RES_T_F64, "", 0, "top-1 accuracy, float"),
    NCOL(res_row, "agreement", m.agreement, RES_T_F64, "", 0, "analog/float top-1 agreement"),
    NCOL(res_row, "out_rel_err", m.out_rel_err, RES_T_F64, "", 0, "mean layer output rel. error"),
    NCOL(res_row, "eval_chars", m.eval_chars, RES_T_I64, "char", 0, "characters scored"),
    NCOL(res_row, "latency_ns", m.latency_ns, RES_T_F64, "ns", 0, "latency per token"),
    NCOL(res_row, "latency_array_ns", m.latency_array_ns, RES_T_F64, "ns", 0, "array steps"),
    NCOL(res_row, "latency_adc_ns", m.latency_adc_ns, RES_T_F64, "ns", 0, "conversions"),
    NCOL(res_row, "latency_digital_ns", m.latency_digital_ns, RES_T_F64, "ns", 0, "digital"),
    NCOL(res_row, "energy_pj", m.energy_pj, RES_T_F64, "pJ", 0, "energy per token"),
    NCOL(res_row, "energy_dac_pj", m.energy_dac_pj, RES_T_F64, "pJ", 0, "row DACs"),
    NCOL(res_row, "energy_array_pj", m.energy_array_pj, RES_T_F64, "pJ", 0, "cell reads"),
    NCOL(res_row, "energy_adc_pj", m.energy_adc_pj, RES_T_F64, "pJ", 0, "ADC conversions"),
    NCOL(res_row, "energy_shiftadd_pj", m.energy_shiftadd_pj, RES_T_F64, "pJ", 0, "shift-add"),
    NCOL(res_row, "energy_digital_pj", m.energy_digital_pj, RES_T_F64, "pJ", 0, "digital ops"),
    NCOL(res_row, "energy_buffer_pj", m.energy_buffer_pj, RES_T_F64, "pJ", 0, "buffers"),
    NCOL(res_row, "area_mm2", m.area_mm2, RES_T_F64, "mm^2", 0, "total area"),
    NCOL(res_row, "area_array_mm2", m.area_array_mm2, RES_T_F64, "mm^2", 0, "crossbars"),
    NCOL(res_row, "area_adc_mm2", m.area_adc_mm2, RES_T_F64, "mm^2", 0, "ADCs"),
    NCOL(res_row, "area_dac_mm2", m.area_dac_mm2, RES_T_F64, "mm^2", 0, "DACs"),
    NCOL(res_row, "area_digital_mm2", m.area_digital_mm2, RES_T_F64, "mm^2", 0, "digital"),
    NCOL(res_row, "arrays", m.arrays, RES_T_I64, "", 0, "logical m x m arrays"),
    NCOL(res_row, "crossbars", m.crossbars, RES_T_I64, "", 0, "physical crossbars"),
    NCOL(res_row, "adcs", m.adcs, RES_T_I64, "", 0, "ADCs"),
    NCOL(res_row, "dacs", m.dacs, RES_T_I64, "", 0, "row DACs"),
    NCOL(res_row, "conversions", m.conversions, RES_T_I64, "", 0, "ADC conversions per token"),
    NCOL(res_row, "steps", m.steps, RES_T_I64, "", 0, "array drive steps per token"),
    NCOL(res_row, "utilization", m.utilization, RES_T_F64, "", 0, "used / total cells"),
    NCOL(res_row, "weights", m.weights, RES_T_I64, "", 0, "weights mapped"),
    NCOL(res_row, "adc_per_pair", m.adc_per_pair, RES_T_I64, "", 0, "1: ADC after G+ - G-"),
    NCOL(res_row, "in_sign_magnitude", m.in_sign_magnitude, RES_T_I64, "", 0,
         "1: sign-magnitude inputs"),
    NCOL(res_row, "in_range_static", m.in_range_static, RES_T_I64, "", 0, "1: static input range"),
    NCOL(res_row, "adc_calibrated", m.adc_calibrated, RES_T_I64, "", 0, "1: calibrated ADC"),
    NCOL(res_row, "adc_cal_per_slice", m.adc_cal_per_slice, RES_T_I64, "", 0,
         "1: ADC range per slice"),
    NCOL(res_row, "cal_heldout", m.cal_heldout, RES_T_I64, "", 0, "1: held-out calibration"),
    NCOL(res_row, "in_clip_frac", m.in_clip_frac, RES_T_F64, "", 0, "inputs clipped, fraction"),
    COL(res_row, status, RES_T_STATUS, "", 0, "pending, done or failed"),
    COL(res_row, error, RES_T_STR, "", 0, "failure message"),
    COL(res_row, run, RES_T_I32, "", 1, "row of /runs that computed the job"),
    COL(res_row, rank, RES_T_I32, "", 1, "MPI rank that ran the job"),
    COL(res_row, threads, RES_T_I32, "", 1, "OpenMP threads of that rank"),
    COL(res_row, host, RES_T_STR, "", 1, "host of that rank"),
    COL(res_row, started_unix, RES_T_F64, "s", 1, "job start, seconds since the epoch"),
    COL(res_row, wall_s, RES_T_F64, "s", 1, "wall time of the job"),
    COL(res_row, cpu_s, RES_T_F64, "s", 1, "CPU time of the rank during the job"),
    COL(res_row, peak_rss_mb, RES_T_F64, "MiB", 1, "peak resident memory during the job"),
};
const int res_njob_columns = (int)(sizeof res_job_columns / sizeof res_job_columns[0]);

const res_column res_layer_columns[] = {
    COL(res_layer_row, job_index, RES_T_I64, "", 0, "owning job (/jobs row)"),
    COL(res_layer_row, layer, RES_T_I32, "", 0, "layer number within the job"),
    NCOL(res_layer_row, "name", l.name, RES_T_STR, "", 0, "layer name"),
    NCOL(res_layer_row, "mapping", l.mapping, RES_T_STR, "", 0, "strategy used for the layer"),
    NCOL(res_layer_row, "in", l.in, RES_T_I32, "", 0, "input features"),
    NCOL(res_layer_row, "out", l.out, RES_T_I32, "", 0, "output features"),
    NCOL(res_layer_row, "nblocks", l.nblocks, RES_T_I32, "", 0, "Monarch blocks (1 = dense)"),
    NCOL(res_layer_row, "arrays", l.arrays, RES_T_I64, "", 0, "logical arrays"),
    NCOL(res_layer_row, "adcs", l.adcs, RES_T_I64, "", 0, "ADCs"),
    NCOL(res_layer_row, "utilization", l.utilization, RES_T_F64, "", 0, "used / total cells"),
    NCOL(res_layer_row, "latency_ns", l.latency_ns, RES_T_F64, "ns", 0, "latency per token"),
    NCOL(res_layer_row, "energy_pj", l.energy_pj, RES_T_F64, "pJ", 0, "energy per token"),
    NCOL(res_layer_row, "area_mm2", l.area_mm2, RES_T_F64, "mm^2", 0, "area"),
    NCOL(res_layer_row, "energy_adc_pj", l.energy_adc_pj, RES_T_F64, "pJ", 0, "ADC energy"),
    NCOL(res_layer_row, "area_adc_mm2", l.area_adc_mm2, RES_T_F64, "mm^2", 0, "ADC area"),
    NCOL(res_layer_row, "weight_rel_err", l.weight_rel_err, RES_T_F64, "", 0, "weight error"),
    NCOL(res_layer_row, "out_rel_err", l.out_rel_err, RES_T_F64, "", 0, "output error"),
    NCOL(res_layer_row, "conversions", l.conversions, RES_T_I64, "", 0, "ADC conversions"),
};
const int res_nlayer_columns = (int)(sizeof res_layer_columns / sizeof res_layer_columns[0]);

const res_column res_run_columns[] = {
    COL(res_run_row, run, RES_T_I32, "", 1, "run number"),
    COL(res_run_row, kind, RES_T_STR, "", 1, "sweep, resume or merge"),
    COL(res_run_row, command_line, RES_T_STR, "", 1, "command line"),
    COL(res_run_row, host, RES_T_STR, "", 1, "host of rank 0"),
    COL(res_run_row, version, RES_T_STR, "", 1, "moncim version"),
    COL(res_run_row, git_commit, RES_T_STR, "", 1, "git commit of the build"),
    COL(res_run_row, executor, RES_T_STR, "", 1, "job executor"),
    COL(res_run_row, part, RES_T_STR, "", 1, "I/N part of the sweep, or empty"),
    COL(res_run_row, ranks, RES_T_I32, "", 1, "MPI ranks"),
    COL(res_run_row, threads, RES_T_I32, "", 1, "OpenMP threads per rank"),
    COL(res_run_row, start_unix, RES_T_F64, "s", 1, "start, seconds since the epoch"),
    COL(res_run_row, end_unix, RES_T_F64, "s", 1, "end (NaN: running or killed)"),
    COL(res_run_row, start_time, RES_T_STR, "", 1, "start, ISO 8601 UTC"),
    COL(res_run_row, end_time, RES_T_STR, "", 1, "end, ISO 8601 UTC"),
    COL(res_run_row, jobs_run, RES_T_I64, "", 1, "jobs this run computed"),
    COL(res_run_row, jobs_failed, RES_T_I64, "", 1, "of which failed"),
};
const int res_nrun_columns = (int)(sizeof res_run_columns / sizeof res_run_columns[0]);

const res_column res_rank_columns[] = {
    COL(res_rank_row, run, RES_T_I32, "", 1, "run number"),
    COL(res_rank_row, rank, RES_T_I32, "", 1, "MPI rank"),
    COL(res_rank_row, host, RES_T_STR, "", 1, "host"),
    COL(res_rank_row, threads, RES_T_I32, "", 1, "OpenMP threads"),
    COL(res_rank_row, jobs, RES_T_I64, "", 1, "jobs run"),
    COL(res_rank_row, busy_s, RES_T_F64, "s", 1, "time inside jobs"),
    COL(res_rank_row, idle_s, RES_T_F64, "s", 1, "time waiting"),
    COL(res_rank_row, wall_s, RES_T_F64, "s", 1, "busy + idle"),
    COL(res_rank_row, cache_hits, RES_T_I64, "", 1, "executor cache hits"),
    COL(res_rank_row, cache_misses, RES_T_I64, "", 1, "executor cache misses"),
};
const int res_nrank_columns = (int)(sizeof res_rank_columns / sizeof res_rank_columns[0]);

void res_row_init(res_row *r, const job_params *p, int64_t layer_first, int32_t layer_count) {
  memset(r, 0, sizeof *r);
  r->p = *p;
  snprintf(r->job_id, sizeof r->job_id, "%016llx", (unsigned long long)p->id);
  r->layer_first = layer_first;
  r->layer_count = layer_count;
  job_metrics_nan(&r->m);
  r->status = RES_PENDING;
  r->run = -1;
  r->rank = -1;
  r->started_unix = r->wall_s = r->cpu_s = r->peak_rss_mb = NAN;
}

/* Column-wise comparison: NaN equals NaN, strings up to their terminator, padding ignored. */
static int cols_differ(const res_column *cols, int n, const void *a, const void *b) {
  for (int i = 0; i < n; i++) {
    const res_column *c = &cols[i];
    if (c->run) continue;
    const char *x = (const char *)a + c->off, *y = (const char *)b + c->off;
    if (c->type == RES_T_F64) {
      double u, v;
      memcpy(&u, x, 8), memcpy(&v, y, 8);
      if (!(u == v || (isnan(u) && isnan(v)))) return 1;
    } else if (c->type == RES_T_STR) {
      if (strncmp(x, y, c->size)) return 1;
    } else if (memcmp(x, y, c->size)) {
      return 1;
    }
  }
  return 0;
}

int res_row_differs(const res_row *a, const res_row *b) {
  return cols_differ(res_job_columns, res_njob_columns, a, b);
}

int res_layer_differs(const res_layer_row *a, const res_layer_row *b) {
  return cols_differ(res_layer_columns, res_nlayer_columns, a, b);
}

double res_now_unix(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void res_iso_time(double unix_s, char *buf, size_t n) {
  if (isnan(unix_s)) {
    snprintf(buf, n, "%s", "");
    return;
  }
  time_t t = (time_t)unix_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
