/* moncim cimsim: the analog compute-in-memory simulator. It programs the arrays of a mapping
 * (mapping.h) with quantized, sliced, signed conductances (with programming noise, drift and
 * stuck-at faults), executes the command stream's MVMs on batches of input vectors (DAC steps,
 * analog column sums with read noise, ADC with its range, offset and gain error, digital
 * shift-and-add and tile accumulation). Latency, energy and area are the mapping module's one cost
 * model (map_cost_compute, docs/cost-model.md), from the same hardware description (map_hw).
 *
 * Equations, defaults and their sources: docs/analog-model.md.
 * Randomness is counter-based (Philox-4x32-10) keyed by (seed, layer, array, step, column,
 * vector), so results are bitwise identical for any number of threads and ranks.
 * Functions that can fail return 0 / -1 after mon_fail() (message via mon_errmsg()).
 */
#ifndef MONCIM_CIMSIM_H
#define MONCIM_CIMSIM_H

#include <stddef.h>
#include <stdint.h>

#include "mapping.h"
#include "metrics.h"
#include "model.h"

/* ================================================================ configuration */

typedef enum { CIM_ENC_DIFFERENTIAL = 0, CIM_ENC_OFFSET } cim_encoding;
typedef enum { CIM_ADC_FULLSCALE = 0, CIM_ADC_CALIBRATED } cim_adc_range;

/* ADC bits value meaning "lossless for every column" (exact integer arithmetic). */
#define CIM_ADC_LOSSLESS 0

/* One simulation's settings besides the hardware (converter resolutions come from map_hw:
 * hw.adc_bits, hw.dac_bits, hw.w_bits, hw.in_bits, hw.cell_bits; callers override them there). */
typedef struct {
  cim_encoding encoding; /* default: from hw.differential */
  cim_adc_range adc_range;
  double adc_percentile; /* CIM_ADC_CALIBRATED: clip at this percentile of |column sums| */
  double in_percentile;  /* hw.in_range_static: input full scale at this percentile of |x| */
  char noise[256];       /* non-idealities, "" or "none" = ideal: "name[:k=v,...]" joined by '+' */
  uint64_t seed;         /* keys every random draw */
  int lossless;          /* 1: ignore hw.adc_bits, convert every column losslessly */
} cim_config;

void cim_config_default(cim_config *c, const map_hw *hw);
/* Validates a noise spec ("prog-pcm+read-gauss:sigma=0.02"); errors name the unknown name or
 * key and what was expected. Used by the sweep to reject bad specs before any job runs. */
int cim_noise_check(const char *spec);

/* ================================================================ model adapter */

/* The map_model of a loaded GPT-2 model: layer index = block * MON_LIN_KINDS + kind, weights
 * borrowed from m (dense or Monarch), `tokens` vectors per inference. */
int cim_model_from_mon(map_model *mm, const mon_model *m, int tokens);

/* ================================================================ runner */

typedef struct cim_runner cim_runner;

/* Maps mm on hw with strategy st (opt may be NULL), schedules the stream, programs the arrays
 * (encoding, slicing, programming noise, drift, faults per cfg). mm must outlive the runner. */
int cim_runner_create(cim_runner **r, const map_model *mm, const map_hw *hw, map_strategy_id st,
                      const map_options *opt, const cim_config *cfg);
void cim_runner_destroy(cim_runner *r);
const map_mapping *cim_runner_mapping(const cim_runner *r);
const map_stream *cim_runner_stream(const cim_runner *r);

/* Simulates layer `layer` of mm on a batch: y (batch, out) = analog(W) x (batch, in), no bias.
 * `row0` keys the per-vector noise draws (see mon_linear_fn). */
int cim_runner_apply(cim_runner *r, int layer, int64_t row0, int batch, const float *x, float *y);

/* A mon_linear_fn: ctx is a cim_runner built from cim_model_from_mon. Also accumulates the
 * per-layer output error against the float product (cim_runner_layer_err). */
int cim_linear_hook(void *ctx, int layer, mon_lin_kind kind, const mon_linear *lin, int64_t row0,
                    int batch, const float *x, float *y);
/* Mean over the vectors seen by the hook of ||y_analog - y_float|| / ||y_float||, per map layer. */
double cim_runner_layer_err(const cim_runner *r, int layer);
/* Held-out calibration of a runner built from cim_model_from_mon(m): runs the model over the
 * first `positions` next-character positions of `text` (one batch, so every layer calibrates on
 * all of them) with the hook, which calibrates each layer that needs it (ADC ranges, static input
 * ranges), then zeroes the accumulated errors and clip counts. Pass text disjoint from the
 * evaluation text (cim_heldout_text). No-op when nothing needs calibration. */
int cim_calibrate_model(cim_runner *r, const mon_model *m, const uint8_t *text, size_t len,
                        int64_t positions);
/* The calibration text of an evaluation on eval[0, neval) scoring `positions` with the model's
 * context T: the last ceil(cal_positions / T) * T + 1 bytes, which must not overlap the
 * ceil(positions / T) * T + 1 bytes the evaluation reads (else fails naming both sizes). */
int cim_heldout_text(const uint8_t *eval, size_t neval, int T, int64_t positions,
                     int64_t cal_positions, const uint8_t **cal, size_t *ncal);

/* Calibrates layer `layer` on calibration inputs x (batch, in), factor by factor as the data
 * flows: with hw.in_range_static, each factor's input scale (cim_config.in_percentile-th
 * percentile of |x| = full scale); with cim_config.adc_range = CIM_ADC_CALIBRATED, the ADC ranges
 * (cim_config.adc_percentile-th percentile of |ideal column sums| per (factor, DAC step, converted
 * line), or per (factor, line) over all steps with hw.adc_cal_per_slice). The hook calibrates each
 * layer on the first batch it sees when this was not called: run the hook over held-out
 * calibration data first (then cim_runner_reset_stats) to calibrate on data disjoint from the
 * evaluation. */
int cim_runner_calibrate(cim_runner *r, int layer, int batch, const float *x);
int cim_runner_is_calibrated(const cim_runner *r, int layer);
/* 1 if the configuration has anything to calibrate (calibrated ADC ranges, static input range). */
int cim_runner_needs_calibration(const cim_runner *r);
/* Static input range: input elements of a layer clipped at the calibrated full scale, and all
 * quantized, since creation or the last reset (0 / 0 with dynamic ranges). */
int cim_runner_input_clip(const cim_runner *r, int layer, int64_t *clipped, int64_t *seen);
/* The same over every layer: clipped / quantized (0 when none). */
double cim_runner_input_clip_frac(const cim_runner *r);
/* Zeroes the accumulated per-layer output errors and clip counts (after a calibration pass). */
void cim_runner_reset_stats(cim_runner *r);
/* Effective analog MACs per input vector of a layer: sum over its MVM blocks of driven rows x
 * converted columns x converted lines per weight (device columns, or G+/G- pairs with
 * hw.adc_per_pair) x DAC steps. */
double cim_runner_macs(const cim_runner *r, int layer);
/* The same SGEMMs as cim_runner_apply on a batch (shapes, threads), without digits, noise and
 * ADC: the "sgemm on the equivalent work" of `moncim bench mvm`, each block's weights read from
 * their own single-precision matrix as a float implementation would (made on the first call,
 * which the benchmark leaves untimed as its warm-up). */
int cim_runner_sgemm_equiv(cim_runner *r, int layer, int batch);
/* Bytes of the programmed state: device levels (2 bytes per converted line of a programmed
 * weight: half.h), pair variances and IR drop's coupled rows where present, static ADC errors. */
size_t cim_runner_state_bytes(const cim_runner *r);
/* Inspection (tests): effective level (G - Gmin) / dG of every programmed device of `array`,
 * out (rows, slices * cols): out[r * slices*cols + j*cols + c] for device column j of logical
 * column c; NAN where no piece is programmed. */
int cim_runner_levels(const cim_runner *r, int array, float *out);
/* Largest first-order fractional voltage drop of a cell under the `ir` noise entry (0 without
 * it): where the fast IR-drop model is valid (docs/analog-model.md, "IR drop"). */
double cim_runner_ir_drop(const cim_runner *r);
/* Philox-4x32-10 (Salmon et al., SC'11), exposed for tests and other modules. */
void cim_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
