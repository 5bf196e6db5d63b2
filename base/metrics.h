/* The metric columns of a job, in one place. Each list entry is
 *   X(TYPE, name, "unit", "meaning")      TYPE: F64 (double, NaN = not computed) or I64 (count)
 * and every consumer expands the lists it needs: the cost model's struct (map_cost, mapping.h), the
 * job record (job_metrics, job_layer) and its NaN initialisation, the pipeline's copy of the cost
 * into the record, and the HDF5 column tables (results/schema.c, checked against
 * results/SCHEMA.md by tests/test_results.c). Adding a column: docs/extending.md.
 *
 * Header only: no code, no link dependency. */
#ifndef MONCIM_METRICS_H
#define MONCIM_METRICS_H

#include <math.h>
#include <stdint.h>

#define MON_METRIC_CTYPE_F64 double
#define MON_METRIC_CTYPE_I64 int64_t
#define MON_METRIC_UNSET_F64 NAN
#define MON_METRIC_UNSET_I64 0

/* A struct field of an entry: `double name;` / `int64_t name;`. */
#define MON_METRIC_FIELD(type, name, unit, doc) MON_METRIC_CTYPE_##type name;
/* Resets an entry of the struct pointed to by `mon_metric_p` to "not computed". */
#define MON_METRIC_UNSET(type, name, unit, doc) mon_metric_p->name = MON_METRIC_UNSET_##type;

/* Accuracy of the simulated model on the evaluation text, next to the float model. Loss is per
 * byte of the scored text (its total bits over its UTF-8 bytes), so that character and BPE models
 * compare; on ASCII text such as the KJV a byte is a character. The short names (bpc, eval_chars)
 * predate the BPE models and are kept so that earlier result files read the same. */
#define MON_ACCURACY_METRICS(X)                                                                    \
  X(F64, bpc, "bit/byte", "bits per byte of text, simulated")                                      \
  X(F64, bpc_float, "bit/byte", "bits per byte of text, float")                                    \
  X(F64, top1, "", "next-token top-1 accuracy, simulated")                                         \
  X(F64, top1_float, "", "top-1 accuracy, float")                                                  \
  X(F64, agreement, "", "analog/float top-1 agreement")                                            \
  X(F64, out_rel_err, "", "mean layer output rel. error")                                          \
  X(I64, eval_chars, "token", "positions (tokens) scored")

/* Cost of one token (one vector through every linear layer), from the command stream
 * (docs/cost-model.md): latency = array + adc + digital, energy and area = sums of their parts. */
#define MON_COST_METRICS(X)                                                                        \
  X(F64, latency_ns, "ns", "latency per token")                                                    \
  X(F64, latency_array_ns, "ns", "array steps")                                                    \
  X(F64, latency_adc_ns, "ns", "conversions")                                                      \
  X(F64, latency_digital_ns, "ns", "digital")                                                      \
  X(F64, energy_pj, "pJ", "energy per token")                                                      \
  X(F64, energy_dac_pj, "pJ", "row DACs")                                                          \
  X(F64, energy_array_pj, "pJ", "cell reads")                                                      \
  X(F64, energy_adc_pj, "pJ", "ADC conversions")                                                   \
  X(F64, energy_shiftadd_pj, "pJ", "shift-add")                                                    \
  X(F64, energy_digital_pj, "pJ", "digital ops")                                                   \
  X(F64, energy_buffer_pj, "pJ", "buffers")                                                        \
  X(F64, area_mm2, "mm^2", "total area")                                                           \
  X(F64, area_array_mm2, "mm^2", "crossbars")                                                      \
  X(F64, area_adc_mm2, "mm^2", "ADCs")                                                             \
  X(F64, area_dac_mm2, "mm^2", "DACs")                                                             \
  X(F64, area_digital_mm2, "mm^2", "digital")                                                      \
  X(I64, arrays, "", "logical m x m arrays")                                                       \
  X(I64, crossbars, "", "physical crossbars")                                                      \
  X(I64, adcs, "", "ADCs")                                                                         \
  X(I64, dacs, "", "row DACs")                                                                     \
  X(I64, conversions, "", "ADC conversions per token")                                             \
  X(I64, steps, "", "array drive steps per token")                                                 \
  X(F64, utilization, "", "used / total cells")                                                    \
  X(I64, rows_per_conversion, "", "most rows a column sums per conversion")                        \
  X(I64, adc_bits_costed, "bit", "ADC resolution energy and area are costed at")

/* The mapping and cost settings the job ran with (map_settings: the hardware file's values
 * overridden by the sweep's option.NAME lines), so every row says what it was costed under. */
#define MON_SETTING_METRICS(X)                                                                     \
  X(I64, dense_layout, "", "DenseMap slots: 0 = interleaved, 1 = contiguous")                      \
  X(I64, dense_row_split, "", "DenseMap row subsets per block (1 = none)")                         \
  X(I64, share_rows, "", "1: shared row bands for layers reading one input")                       \
  X(I64, digital_lanes, "", "elements per digital cycle")                                          \
  X(I64, fold_permute, "", "1: no PERMUTE between Monarch factors")                                \
  X(I64, adc_lossless, "", "1: ADCs costed at each mapping's lossless bits")

/* Computed by the pipeline from the mapped model. */
#define MON_MODEL_METRICS(X)                                                                       \
  X(I64, weights, "", "weights mapped")                                                            \
  X(F64, state_mib, "MiB", "programmed device state in memory")

/* The periphery conventions the job ran with (hardware file + sweep options, 0 = moncim's
 * defaults; docs/analog-model.md "Periphery conventions") and the static input range's clipping. */
#define MON_PERIPHERY_METRICS(X)                                                                   \
  X(I64, adc_per_pair, "", "1: ADC after G+ - G-")                                                 \
  X(I64, in_sign_magnitude, "", "1: sign-magnitude inputs")                                        \
  X(I64, in_range_static, "", "1: static input range")                                             \
  X(I64, adc_calibrated, "", "1: calibrated ADC")                                                  \
  X(I64, adc_cal_per_slice, "", "1: ADC range per slice")                                          \
  X(I64, cal_heldout, "", "1: held-out calibration")                                               \
  X(F64, in_clip_frac, "", "inputs clipped, fraction")

/* Every column of a job's /jobs row after its parameters, in file order. */
#define MON_JOB_METRICS(X)                                                                         \
  MON_ACCURACY_METRICS(X)                                                                          \
  MON_COST_METRICS(X) MON_SETTING_METRICS(X) MON_MODEL_METRICS(X) MON_PERIPHERY_METRICS(X)

/* Per layer: a subset of the cost columns (same names as in MON_COST_METRICS, so the layer's
 * map_cost copies over by name; units as there), then the layer's accuracy. */
#define MON_LAYER_COST_METRICS(X)                                                                  \
  X(I64, arrays, "", "logical arrays")                                                             \
  X(I64, adcs, "", "ADCs")                                                                         \
  X(F64, utilization, "", "used / total cells")                                                    \
  X(F64, latency_ns, "ns", "latency per token")                                                    \
  X(F64, energy_pj, "pJ", "energy per token")                                                      \
  X(F64, area_mm2, "mm^2", "area")                                                                 \
  X(F64, energy_adc_pj, "pJ", "ADC energy")                                                        \
  X(F64, area_adc_mm2, "mm^2", "ADC area")                                                         \
  X(I64, conversions, "", "ADC conversions")
#define MON_LAYER_ACCURACY_METRICS(X)                                                              \
  X(F64, out_rel_err, "", "output rel. error vs float on the eval inputs")
#define MON_LAYER_METRICS(X) MON_LAYER_COST_METRICS(X) MON_LAYER_ACCURACY_METRICS(X)

#endif
