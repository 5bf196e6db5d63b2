/* moncim jobs: sweep files, their expansion into a job list, and the job executor interface.
 *
 * A sweep file (format in jobs/README.md and at the top of jobs/default.sweep) names the axes
 * of a design-space study. Their cartesian product, minus the `exclude` rules, in a fixed axis
 * order, is the job list: job `index` is its position in that list (stable for a given sweep
 * text) and job `id` is a 64-bit hash of its canonical parameter string (stable across sweep
 * files: the same parameters always give the same id).
 *
 * A job executor (STYLE rule 10: a table of functions) turns one job's parameters into its
 * metrics. `job_executor_synthetic` is a stand-in with deterministic metrics computed from the
 * parameters by a counter-based hash and a configurable CPU cost; it exists to test and
 * benchmark the harness, never to produce research results. The real pipeline is an executor
 * of the same shape in pipeline/ (pipe_executor).
 *
 * Every function that can fail returns 0 / -1 and leaves a message in mon_errmsg(); parse
 * errors name "file:line: key 'k': ...".
 */
#ifndef MONCIM_JOBS_H
#define MONCIM_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "metrics.h"

/* Fixed-length strings: job parameters travel in MPI messages and HDF5 rows as plain bytes. */
#define JOB_MODEL_LEN   64  /* model spec, e.g. "zoo:kjv-small", "shape:bert-large" */
#define JOB_MAPPING_LEN 16  /* linear | sparse | dense | auto */
#define JOB_LABEL_LEN   32  /* noise preset label */
#define JOB_SPEC_LEN    160 /* noise spec ("prog-pcm+read-pcm:sigma=0.02"), option values */
#define JOB_PATH_LEN    160 /* hardware file as written in the sweep ("default" = built in) */
#define JOB_KEY_LEN     48  /* option names */

struct job_sweep;

/* ---------------------------------------------------------------- one job */

typedef struct {
  int64_t index;                 /* position in the expanded job list, 0-based */
  uint64_t id;                   /* hash of the canonical parameter string (job_canonical) */
  char model[JOB_MODEL_LEN];     /* model spec as written in the sweep */
  char hardware[JOB_PATH_LEN];   /* hardware file as written; "default" = built-in defaults */
  int nblocks;                   /* Monarch blocks per factor (sparsity knob); 1 = dense */
  char mapping[JOB_MAPPING_LEN]; /* mapping strategy name */
  char noise[JOB_LABEL_LEN];     /* noise preset label ("none" = ideal devices) */
  char noise_spec[JOB_SPEC_LEN]; /* what the label stands for ("" for none) */
  int dac_bits;                  /* bits per DAC step (1 = bit-serial) */
  int adc_bits;                  /* ADC resolution, bits */
  int digital_lanes;             /* elements per digital cycle; 0 = the hardware's (or the
                                    sweep's option.digital_lanes) */
  int64_t seed;                  /* Monte-Carlo trial seed (keys every random draw) */
} job_params;

/* Canonical parameter string, e.g.
 * "model=zoo:kjv-small;hardware=default;nblocks=4;mapping=sparse;noise=pcm{prog-pcm};dac_bits=1;
 *  adc_bits=5;seed=1;opt.eval_chars=4096;" (options sorted by name; "digital_lanes=N;" after
 * seed only when the job sets it, so sweeps without that axis keep their ids). Returns the
 * length, or -1 if it does not fit in n bytes. */
int job_canonical(const job_params *p, const struct job_sweep *s, char *buf, size_t n);
/* 64-bit hash (FNV-1a folded through the splitmix64 finalizer): stable across machines. */
uint64_t job_hash64(const void *data, size_t n);

/* ---------------------------------------------------------------- sweep files */

/* The axes, in expansion order (outermost first). Names are the sweep-file keys. */
typedef enum {
  JOB_AX_MODELS = 0,
  JOB_AX_HARDWARE,
  JOB_AX_NBLOCKS,
  JOB_AX_MAPPINGS,
  JOB_AX_NOISE,
  JOB_AX_DAC_BITS,
  JOB_AX_ADC_BITS,
  JOB_AX_DIGITAL_LANES,
  JOB_AX_SEEDS,
  JOB_NAXES
} job_axis_id;

typedef struct {
  int n;        /* number of values */
  char **value; /* n strings as written (integers normalized to decimal) */
  long *num;    /* n integers (integer axes only, else NULL) */
  int *line;    /* n source lines, for error messages */
} job_axis;

typedef struct {
  char key[JOB_KEY_LEN];
  char value[JOB_SPEC_LEN];
  int line;
} job_option;

typedef struct {
  char label[JOB_LABEL_LEN];
  char spec[JOB_SPEC_LEN];
  int line;
} job_noise_preset;

/* One exclusion rule: a job is excluded when, for every condition, its value on that axis is
 * one of the listed values. */
typedef struct {
  int ncond;
  job_axis_id axis[JOB_NAXES];
  job_axis vals[JOB_NAXES];
  int line;
} job_exclude;

typedef struct job_sweep {
  char *path;        /* sweep file path (as given) */
  char *dir;         /* its directory: hardware files are relative to it */
  char *text;        /* the full text, stored in the HDF5 provenance */
  char name[64];     /* `name = ...`, default: the file's base name without .sweep */
  char executor[32]; /* `executor = ...` (default "real"); the CLI may override */
  job_axis axis[JOB_NAXES];
  int nopts;
  job_option *opts; /* `option NAME = VALUE` lines: settings passed to the executor */
  int nnoise;
  job_noise_preset *noise; /* `noise.LABEL = SPEC` lines */
  int nexcl;
  job_exclude *excl;
  int64_t nexcluded; /* jobs removed by exclusions */
  int64_t njobs;
  job_params *jobs; /* njobs, in index order */
} job_sweep;

/* Parses `text` (read from `path` when text is NULL) and expands the job list. Pair with
 * job_sweep_destroy (also after a failure). */
int job_sweep_parse(job_sweep *s, const char *path, const char *text);
void job_sweep_destroy(job_sweep *s);
const char *job_axis_name(job_axis_id a);
/* Looks up an option value; NULL if absent. */
const char *job_sweep_option(const job_sweep *s, const char *key);
/* Hash of every job id in order: two sweeps with equal list hashes have the same job list. */
uint64_t job_sweep_list_hash(const job_sweep *s);
/* "I/N" with 0 <= I < N: the part of a sweep that runs the jobs with index % N == I. */
int job_part_parse(const char *s, int *part, int *nparts);
/* Resolves a hardware name to a path usable from the current directory ("default" stays). */
int job_hardware_path(const job_sweep *s, const char *hw, char *out, size_t n);

/* ---------------------------------------------------------------- metrics */

/* Whole-job metrics, one field per entry of MON_JOB_METRICS (metrics.h: names, units, meaning).
 * Accuracy is over the evaluation text, cost is per token (one forward pass of one input vector
 * through every linear layer). NaN = not computed (e.g. accuracy of a shape-only workload). */
typedef struct {
  MON_JOB_METRICS(MON_METRIC_FIELD)
} job_metrics;

#define JOB_LAYER_NAME_LEN 48

/* One linear layer of one job (per-layer detail); metrics as listed in MON_LAYER_METRICS. */
typedef struct {
  char name[JOB_LAYER_NAME_LEN]; /* e.g. "h.3.mlp.c_fc" */
  char mapping[JOB_MAPPING_LEN]; /* strategy used for this layer (Auto resolves it) */
  int in, out;                   /* logical matrix shape (out, in) */
  int nblocks;                   /* Monarch blocks (1 = dense) */
  MON_LAYER_METRICS(MON_METRIC_FIELD)
} job_layer;

/* Caches of expensive shared work, per rank (models, D2S variants, calibrations, mappings). */
typedef struct {
  int64_t hits, misses;
} job_cache_stats;

void job_metrics_nan(job_metrics *m); /* every F64 metric NaN, every count 0 */
void job_layer_nan(job_layer *l);

/* ---------------------------------------------------------------- executors */

typedef struct job_executor {
  const char *name;    /* selectable by `executor = NAME` or --executor NAME */
  const char *summary; /* one line */
  /* Checks one axis value (key = axis name: "models", "mappings", "noise" (the spec, "" for none),
   * "hardware", ...) or option ("option.NAME") before any job runs. 0 or -1 + message. */
  int (*check)(const char *key, const char *value);
  /* Per-rank state: caches of shared work live here. */
  int (*create)(void **state, const job_sweep *s);
  void (*destroy)(void *state);
  /* Exact number of per-layer rows `run` will return for p. Cheap (called on rank 0 for every
   * job before the sweep starts, to lay out the file). */
  int (*plan)(void *state, const job_params *p, int *nlayers);
  /* Relative cost estimate (any unit; larger = slower), or NULL when unknown. Used to hand out
   * expensive jobs first. */
  double (*estimate)(void *state, const job_params *p);
  /* Runs one job with OpenMP inside. Fills m and exactly `nlayers` (from plan) layer rows.
   * Must be deterministic: results depend on p (and the sweep options) only, never on the
   * rank, the thread count or which jobs ran before. Must not call HDF5 or MPI. */
  int (*run)(void *state, const job_params *p, job_metrics *m, job_layer *layers);
  void (*stats)(void *state, job_cache_stats *st); /* may be NULL */
} job_executor;

extern const job_executor job_executor_synthetic;

/* Executors known to the jobs library (the harness adds its own in front). */
const job_executor *job_executor_find(const job_executor *const *table, int n, const char *name);

/* Runs every check of ex on s's axis values and options; errors name file:line and key. */
int job_sweep_check(const job_sweep *s, const job_executor *ex);

#endif
