/* The model, hardware and mapping options of `moncim map` and `moncim trace`. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

static int parse_nblocks(const char *cmd, const char *arg, void *dst) {
  if (!strcmp(arg, "sqrt")) {
    *(int *)dst = MAP_NBLOCKS_SQRT;
    return 0;
  }
  return bench_parse_int(cmd, "nblocks", arg, 0, 1 << 20, dst);
}

/* A mapping/cost setting through map_settings_set, the parser a sweep's option.NAME uses too. */
static int parse_setting(const char *cmd, map_setting_id id, const char *arg, map_settings *s) {
  if (!map_settings_set(s, map_setting_names[id], arg)) return 0;
  char opt[40];
  snprintf(opt, sizeof opt, "%s", map_setting_names[id]);
  for (char *q = opt; *q; q++)
    if (*q == '_') *q = '-';
  bench_usage_error(cmd, "--%s: %s", opt, mon_errmsg());
  return -1;
}
#define SETTING_PARSER(fn, id)                                                                     \
  static int fn(const char *cmd, const char *arg, void *dst) {                                     \
    return parse_setting(cmd, id, arg, dst);                                                       \
  }
SETTING_PARSER(parse_dense_layout, MAP_SET_DENSE_LAYOUT)
SETTING_PARSER(parse_dense_row_split, MAP_SET_DENSE_ROW_SPLIT)
SETTING_PARSER(parse_share_rows, MAP_SET_SHARE_ROWS)
SETTING_PARSER(parse_digital_lanes, MAP_SET_DIGITAL_LANES)
SETTING_PARSER(parse_fold_permute, MAP_SET_FOLD_PERMUTE)
SETTING_PARSER(parse_adc_lossless, MAP_SET_ADC_LOSSLESS)

void bench_map_options(bench_opt t[BENCH_MAP_NOPTS], map_cli *c) {
  *c = (map_cli){.nblocks = MAP_NBLOCKS_CONFIG};
  map_settings_init(&c->set);
  const bench_opt tab[BENCH_MAP_NOPTS] = {
      BENCH_STR("model", &c->model),
      BENCH_FN("nblocks", parse_nblocks, &c->nblocks),
      BENCH_STR("hw", &c->hw_file),
      BENCH_INT("array-size", &c->array_size, 1, 65536),
      BENCH_STR("strategy", &c->strategy),
      BENCH_STR("mapping", &c->strategy),
      BENCH_INT("budget-arrays", &c->opt.budget_arrays, 1, 1 << 30),
      BENCH_INT("budget-adcs", &c->opt.budget_adcs, 1, 1 << 30),
      BENCH_CHOICE("objective", &c->objective, "latency|energy"),
      BENCH_FN("dense-layout", parse_dense_layout, &c->set),
      BENCH_FN("dense-row-split", parse_dense_row_split, &c->set),
      BENCH_FN("share-rows", parse_share_rows, &c->set),
      BENCH_FN("digital-lanes", parse_digital_lanes, &c->set),
      BENCH_FN("fold-permute", parse_fold_permute, &c->set),
      BENCH_FN("adc-lossless", parse_adc_lossless, &c->set),
      BENCH_END};
  memcpy(t, tab, sizeof tab);
}

int bench_map_setup(const char *cmd, map_cli *c, map_model *mm, map_hw *hw) {
  if (c->hw_file) {
    if (map_hw_load(hw, c->hw_file)) return bench_error(cmd, "%s", mon_errmsg());
  } else {
    map_hw_default(hw);
  }
  if (c->array_size) {
    hw->rows = hw->cols = c->array_size;
    if (hw->cols_per_adc > hw->cols) hw->cols_per_adc = hw->cols;
    if (map_hw_validate(hw, "--array-size")) return bench_error(cmd, "%s", mon_errmsg());
  }
  c->opt.objective = c->objective ? MAP_OBJ_ENERGY : MAP_OBJ_LATENCY;
  map_settings_apply(&c->set, hw, &c->opt);
  if (map_model_from_spec(mm, c->model, c->nblocks)) return bench_error(cmd, "%s", mon_errmsg());
  return 0;
}
