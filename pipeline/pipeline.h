/* moncim pipeline: one job end to end. A model (or a shape-only workload) is mapped on the
 * hardware with a strategy, the simulated arrays are programmed with the converter and noise
 * settings, the model is evaluated with every weight-stationary linear layer executed by the
 * simulator, and the command stream is costed. The result is the record a sweep stores
 * (job_metrics + job_layer rows); `moncim simulate`, the real sweep executor and the tests all
 * run jobs through pipe_run.
 *
 * Functions that can fail return 0 / -1 with a message in mon_errmsg().
 */
#ifndef MONCIM_PIPELINE_H
#define MONCIM_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cimsim.h"
#include "jobs.h"
#include "mapping.h"
#include "model.h"

/* The float model on an evaluation text: what the simulated run is compared with. */
typedef struct {
  int64_t positions; /* positions scored */
  double bpc;        /* bits per byte of the text (per character on ASCII text) */
  double top1;       /* next-character top-1 accuracy, 0..1 */
  int32_t *pred;     /* (positions) top-1 predictions, for the agreement column */
} pipe_reference;

/* Evaluates m in float on the first `positions` tokens of text (< 0: all of it). Pair with
 * pipe_reference_destroy (also after a failure). */
int pipe_reference_eval(pipe_reference *ref, const mon_model *m, const uint8_t *text, size_t n,
                        int64_t positions);
void pipe_reference_destroy(pipe_reference *ref);
/* A whole text file (malloc'ed, NUL-terminated past *n): the evaluation text of a job. */
int pipe_read_text(const char *path, uint8_t **text, size_t *n);

/* One job. Either `model` (accuracy and cost) or `shape` (cost only: the accuracy columns stay
 * NaN) is set. */
typedef struct {
  const mon_model *model;    /* weights, or NULL */
  const map_model *shape;    /* shape-only workload when model is NULL */
  const map_hw *hw;          /* hardware, with the job's converter resolutions */
  map_strategy_id strategy;  /* mapping strategy */
  const map_options *opt;    /* placement options (dense layout, row split, shared rows); NULL =
                                defaults */
  const cim_config *cfg;     /* ADC ranges, noise spec, seed (cim_config_default + job) */
  const uint8_t *text;       /* evaluation text (with model) */
  size_t ntext;              /* its length, bytes */
  const pipe_reference *ref; /* the float model on that text (with model) */
  int attn_bits;             /* digital attention operands rounded to this many bits; 0 = float */
  /* Held-out calibration (calibrated ADC ranges, static input ranges): text disjoint from the
   * evaluation (cim_heldout_text) and the positions to run on it; NULL: each layer calibrates
   * on the first evaluation batch it sees. */
  const uint8_t *cal_text;
  size_t ncal;
  int64_t cal_positions;
} pipe_job;

/* Where a job's time went, s. */
typedef struct {
  double setup_s; /* mapping, scheduling, programming the arrays */
  double sim_s;   /* the simulated evaluation */
} pipe_timing;

/* Number of per-layer rows pipe_run fills for this job. */
int pipe_nlayers(const pipe_job *j);
/* Runs j: every metric of m (NaN where the job computes none), and when layers is not NULL its
 * pipe_nlayers rows; t may be NULL. Deterministic: the result depends on j only, never on the
 * thread count. */
int pipe_run(const pipe_job *j, job_metrics *m, job_layer *layers, pipe_timing *t);

/* The real sweep executor (model specs zoo:NAME, dir:PATH, hf:PATH, shape:WORKLOAD; executor.c):
 * its check validates every axis value and `option.` line of a sweep before any job runs. */
extern const job_executor pipe_executor;

#endif
