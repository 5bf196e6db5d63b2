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
  *c = (map_cli){.nblocks = MAP_NBLOCKS_CONFIG};
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
  if (map_model_from_spec(mm, c->model, c->nblocks)) return bench_error(cmd, "%s", mon_errmsg());
  return 0;
}
