/* The model, hardware and mapping options of `moncim map` and `moncim trace`. */
#include "bench.h"

#include <string.h>

static int parse_nblocks(const char *cmd, const char *arg, void *dst) {
  if (!strcmp(arg, "sqrt")) {
    *(int *)dst = MAP_NBLOCKS_SQRT;
    return 0;
  }
  return bench_parse_int(cmd, "nblocks", arg, 0, 1 << 20, dst);
}

void bench_map_options(bench_opt t[BENCH_MAP_NOPTS], map_cli *c) {
  *c = (map_cli){.nblocks = MAP_NBLOCKS_CONFIG, .fold_permute = -1, .adc_lossless = -1};
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
      BENCH_CHOICE("dense-layout", &c->dense_layout, "interleaved|contiguous"),
      BENCH_INT("dense-row-split", &c->opt.dense_row_split, 1, 65536),
      BENCH_INT("share-rows", &c->opt.share_rows, 0, 1),
      BENCH_INT("digital-lanes", &c->digital_lanes, 1, 1 << 20),
      BENCH_INT("fold-permute", &c->fold_permute, 0, 1),
      BENCH_INT("adc-lossless", &c->adc_lossless, 0, 1),
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
  c->opt.dense_layout = c->dense_layout ? MAP_DENSE_CONTIGUOUS : MAP_DENSE_INTERLEAVED;
  if (c->digital_lanes > 0) hw->digital_lanes = c->digital_lanes;
  if (c->fold_permute >= 0) hw->fold_permute = c->fold_permute;
  if (c->adc_lossless >= 0) hw->adc_lossless = c->adc_lossless;
  if (map_model_from_spec(mm, c->model, c->nblocks)) return bench_error(cmd, "%s", mon_errmsg());
  return 0;
}
