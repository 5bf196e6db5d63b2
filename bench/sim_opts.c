/* Shared converter/device/noise options of moncim simulate and moncim mvm (sim_opts.h). */
#include "sim_opts.h"

#include <stdio.h>
#include <string.h>

/* "none" names the ideal device, as on a sweep's noise axis. */
static int parse_noise(const char *cmd, const char *arg, void *dst) {
  (void)cmd;
  *(const char **)dst = strcmp(arg, "none") ? arg : "";
  return 0;
}

void bench_sim_options(bench_opt t[BENCH_SIM_NOPTS], bench_sim_opts *o, const char *strategy) {
  *o = (bench_sim_opts){.strategy = strategy,
                        .noise = "",
                        .adc = -1,
                        .dac = -1,
                        .in = -1,
                        .w = -1,
                        .cell = -1,
                        .seed = 1,
                        .percentile = 99.99,
                        .in_percentile = 100};
  const bench_opt tab[BENCH_SIM_NOPTS] = {
      BENCH_STR("hw", &o->hwfile),
      BENCH_STR("mapping", &o->strategy),
      BENCH_INT("adc-bits", &o->adc, 1, 32),
      BENCH_INT("dac-bits", &o->dac, 1, 16),
      BENCH_INT("in-bits", &o->in, 2, 31),
      BENCH_INT("w-bits", &o->w, 2, 31),
      BENCH_INT("cell-bits", &o->cell, 1, 8),
      BENCH_STR("encoding", &o->encoding),
      BENCH_FLAG("lossless", &o->lossless),
      BENCH_STR("adc-range", &o->range),
      BENCH_DOUBLE("percentile", &o->percentile, 1e-9, 100),
      BENCH_FN("noise", parse_noise, &o->noise),
      BENCH_INT("seed", &o->seed, 0, 2147483647),
      BENCH_STR("adc-per", &o->adc_per),
      BENCH_STR("in-encoding", &o->in_encoding),
      BENCH_STR("in-range", &o->in_range),
      BENCH_STR("adc-cal", &o->adc_cal),
      BENCH_DOUBLE("in-percentile", &o->in_percentile, 1e-9, 100),
      BENCH_END};
  memcpy(t, tab, sizeof tab);
}

int bench_sim_setup(const char *cmd, const bench_sim_opts *o, int array_size, map_hw *hw,
                    cim_config *cfg, const map_strategy **st) {
  *st = map_strategy_find(o->strategy);
  if (!*st) return bench_usage_error(cmd, "--mapping: %s", mon_errmsg());
  if (cim_noise_check(o->noise)) return bench_usage_error(cmd, "--noise: %s", mon_errmsg());
  if (o->hwfile ? map_hw_load(hw, o->hwfile) : (map_hw_default(hw), 0))
    return bench_error(cmd, "%s", mon_errmsg());
  if (o->adc > 0) hw->adc_bits = o->adc;
  if (o->dac > 0) hw->dac_bits = o->dac;
  if (o->in > 0) hw->in_bits = o->in;
  if (o->w > 0) hw->w_bits = o->w;
  if (o->cell > 0) hw->cell_bits = o->cell;
  if (array_size > 0) {
    hw->rows = hw->cols = array_size;
    if (hw->cols_per_adc > array_size) hw->cols_per_adc = array_size;
  }
  if (o->encoding) {
    if (strcmp(o->encoding, "differential") && strcmp(o->encoding, "offset"))
      return bench_usage_error(cmd, "--encoding '%s': expected differential or offset",
                               o->encoding);
    hw->differential = !strcmp(o->encoding, "differential");
  }
  /* periphery conventions: option -> 0/1 field, the hardware file's value when not given */
  const struct {
    const char *opt, *val, *v0, *v1;
    int *field;
  } per[] = {{"adc-per", o->adc_per, "column", "pair", &hw->adc_per_pair},
             {"in-encoding", o->in_encoding, "twos", "signmag", &hw->in_sign_magnitude},
             {"in-range", o->in_range, "dynamic", "static", &hw->in_range_static},
             {"adc-cal", o->adc_cal, "step", "slice", &hw->adc_cal_per_slice}};
  for (size_t i = 0; i < sizeof per / sizeof per[0]; i++) {
    if (!per[i].val) continue;
    if (strcmp(per[i].val, per[i].v0) && strcmp(per[i].val, per[i].v1))
      return bench_usage_error(cmd, "--%s '%s': expected %s or %s", per[i].opt, per[i].val,
                               per[i].v0, per[i].v1);
    *per[i].field = !strcmp(per[i].val, per[i].v1);
  }
  if (map_hw_validate(hw, "hw")) return bench_usage_error(cmd, "%s", mon_errmsg());
  cim_config_default(cfg, hw);
  if (o->range) {
    if (!strcmp(o->range, "calibrated"))
      cfg->adc_range = CIM_ADC_CALIBRATED;
    else if (strcmp(o->range, "fullscale"))
      return bench_usage_error(cmd, "--adc-range '%s': expected fullscale or calibrated", o->range);
  }
  cfg->adc_percentile = o->percentile;
  cfg->in_percentile = o->in_percentile;
  cfg->lossless = o->lossless;
  cfg->seed = (uint64_t)o->seed;
  snprintf(cfg->noise, sizeof cfg->noise, "%s", o->noise);
  return BENCH_OK;
}
