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

/* The metric columns, generated from the lists in metrics.h. */
#define JOB_METRIC_COL(type, name, unit, doc)                                                      \
  NCOL(res_row, #name, m.name, RES_T_##type, unit, 0, doc),
#define LAYER_METRIC_COL(type, name, unit, doc)                                                    \
  NCOL(res_layer_row, #name, l.name, RES_T_##type, unit, 0, doc),

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
    MON_JOB_METRICS(JOB_METRIC_COL)
        COL(res_row, status, RES_T_STATUS, "", 0, "pending, done or failed"),
    COL(res_row, error, RES_T_STR, "", 0, "failure message, or why a pending job was interrupted"),
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
    MON_LAYER_METRICS(LAYER_METRIC_COL)};
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
