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

/* Calibrates the ADC ranges of layer `layer` (cim_config.adc_range = CIM_ADC_CALIBRATED): the
 * cim_config.adc_percentile-th percentile of |ideal column sums| per (factor, DAC step, slice) on
 * these calibration inputs x (batch, in). The hook calibrates each layer on the first batch it
 * sees when this was not called. */
int cim_runner_calibrate(cim_runner *r, int layer, int batch, const float *x);
int cim_runner_is_calibrated(const cim_runner *r, int layer);
/* Effective analog MACs per input vector of a layer: sum over its MVM blocks of driven rows x
 * converted columns x device columns per weight (slices) x DAC steps. */
double cim_runner_macs(const cim_runner *r, int layer);
/* The same SGEMMs as cim_runner_apply on a batch (shapes, threads), without digits, noise and
 * ADC: the "sgemm on the equivalent work" of `moncim bench mvm`. */
int cim_runner_sgemm_equiv(const cim_runner *r, int layer, int batch);
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
