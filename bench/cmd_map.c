/* moncim map: how a model maps onto crossbar arrays under each strategy. */
#include "bench.h"
#include "cimsim.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "map";

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: moncim map --model M [--nblocks B|sqrt] [--hw FILE] [--array-size m]\n"
      "                  [--strategy S] [--budget-arrays N | --budget-adcs N]\n"
      "                  [--objective latency|energy] [--dense-layout L] [--dense-row-split K]\n"
      "                  [--share-rows 0|1]\n"
      "                  [--digital-lanes N] [--fold-permute 0|1] [--adc-lossless 0|1] [--json]\n\n"
      "Maps every linear layer of a model onto m x m crossbar arrays with each strategy\n"
      "(linear, sparse = SparseMap, dense = DenseMap, auto) and prints ONE table per strategy:\n"
      "arrays, ADCs, utilization, rows a column sums per conversion and the lossless ADC bits,\n"
      "the ADC bits costed, MVMs and PERMUTEs per token, and the cost model of docs/cost-model.md\n"
      "per token (the one Auto minimises): critical-path latency split array/ADC/digital,\n"
      "energy split DAC/array/ADC/shift-add/digital/buffer, area. --json carries the same\n"
      "numbers.\n\n"
      "  --model M          bert-large | gpt2-medium | bart-large | zoo-shape | a model dir\n"
      "                     (config.json: n_layer, n_embd, n_inner, monarch_nblocks)\n"
      "  --nblocks B        Monarch blocks per factor; 'sqrt' = sqrt(in) per layer; 0 = dense\n"
      "                     (default: the model dir's monarch_nblocks; required for workloads)\n"
      "  --hw FILE          hardware JSON (default: built-in, = configs/hw-default.json)\n"
      "  --array-size m     override rows = cols = m\n"
      "  --strategy S       only this strategy (default: all four)\n"
      "  --budget-arrays N  Auto: at most N arrays (others: fail if they need more)\n"
      "  --budget-adcs N    Auto: at most N ADCs\n"
      "  --objective O      Auto minimises latency (default) or energy per token\n"
      "  --dense-layout L   DenseMap slots: interleaved (default: a factor's blocks on distinct\n"
      "                     arrays) or contiguous (fill one array before the next)\n"
      "  --dense-row-split K  DenseMap: drive each block's rows in K subsets (a column sums\n"
      "                     ceil(block rows / K) rows per conversion; partial sums added\n"
      "                     digitally); default 1\n"
      "  --share-rows B     1: DenseMap layers reading one input (BERT's q/k/v, BART's cross\n"
      "                     k/v) share row bands: one MVM drives a segment once for all\n"
      "  --digital-lanes N  override hw digital_lanes (elements per digital cycle)\n"
      "  --fold-permute B   override hw fold_permute (1: no PERMUTE between Monarch factors)\n"
      "  --adc-lossless B   override hw adc_lossless (1: ADCs costed at each mapping's\n"
      "                     lossless bits)\n"
      "  --json             one JSON object on stdout instead of the table\n");
}

/* A number that reads back to the same double: cJSON prints 15 significant digits and accepts a
 * last-bit difference, so a sweep's HDF5 column would not compare equal to it. */
static void add_exact(cJSON *o, const char *name, double v) {
  char buf[40];
  if (!isfinite(v)) {
    cJSON_AddNullToObject(o, name);
    return;
  }
  snprintf(buf, sizeof buf, "%.15g", v);
  if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
  cJSON_AddRawToObject(o, name, buf);
}

/* The one cost model of one token (map_cost), as a "cost" object, every number exact. */
static void add_cost(cJSON *o, const map_cost *c) {
  cJSON *k = cJSON_AddObjectToObject(o, "cost");
  add_exact(k, "latency_ns_per_token", c->latency_ns);
  add_exact(k, "latency_array_ns", c->latency_array_ns);
  add_exact(k, "latency_adc_ns", c->latency_adc_ns);
  add_exact(k, "latency_digital_ns", c->latency_digital_ns);
  add_exact(k, "energy_pj_per_token", c->energy_pj);
  add_exact(k, "energy_dac_pj", c->energy_dac_pj);
  add_exact(k, "energy_array_pj", c->energy_array_pj);
  add_exact(k, "energy_adc_pj", c->energy_adc_pj);
  add_exact(k, "energy_shiftadd_pj", c->energy_shiftadd_pj);
  add_exact(k, "energy_digital_pj", c->energy_digital_pj);
  add_exact(k, "energy_buffer_pj", c->energy_buffer_pj);
  add_exact(k, "area_mm2", c->area_mm2);
  add_exact(k, "area_array_mm2", c->area_array_mm2);
  add_exact(k, "area_adc_mm2", c->area_adc_mm2);
  add_exact(k, "area_dac_mm2", c->area_dac_mm2);
  add_exact(k, "area_digital_mm2", c->area_digital_mm2);
  add_exact(k, "arrays", (double)c->arrays);
  add_exact(k, "crossbars", (double)c->crossbars);
  add_exact(k, "adcs", (double)c->adcs);
  add_exact(k, "dacs", (double)c->dacs);
  add_exact(k, "conversions_per_token", (double)c->conversions);
  add_exact(k, "drive_steps_per_token", (double)c->steps);
  add_exact(k, "utilization", c->utilization);
  add_exact(k, "rows_per_conversion", (double)c->rows_per_conversion);
  add_exact(k, "adc_bits_costed", (double)c->adc_bits_costed);
}

static void add_stats(cJSON *o, const map_stats *s, const map_mapping *mp, long long tokens) {
  cJSON_AddNumberToObject(o, "arrays", s->arrays);
  cJSON_AddNumberToObject(o, "adcs", s->adcs);
  cJSON_AddNumberToObject(o, "cells_used", (double)s->cells_used);
  cJSON_AddNumberToObject(o, "cells_avail", (double)s->cells_avail);
  cJSON_AddNumberToObject(o, "utilization", s->utilization);
  cJSON_AddNumberToObject(o, "max_active_rows", s->max_active_rows);
  cJSON_AddNumberToObject(o, "adc_bits_lossless", s->adc_bits_lossless);
  cJSON_AddNumberToObject(o, "mvms_per_token", (double)s->mvms);
  cJSON_AddNumberToObject(o, "mvms_per_inference", (double)s->mvms * (double)tokens);
  cJSON_AddNumberToObject(o, "critical_mvms_per_token", (double)s->crit_mvms);
  cJSON_AddNumberToObject(o, "permutes_per_token", (double)s->permutes);
  cJSON_AddNumberToObject(o, "shared_mvms_per_token", (double)mp->shared_mvms);
  cJSON_AddNumberToObject(o, "conversions_per_token", (double)s->conversions);
  int n[MAP_AUTO] = {0};
  for (int l = 0; l < mp->nlayers; l++) n[mp->lmap[l].strategy]++;
  cJSON *ly = cJSON_AddObjectToObject(o, "layers_by_strategy");
  for (int k = 0; k < MAP_AUTO; k++) cJSON_AddNumberToObject(ly, map_strategies[k].name, n[k]);
}

int bench_cmd_map(int argc, char **argv) {
  map_cli c;
  bench_opt shared[BENCH_MAP_NOPTS];
  bench_map_options(shared, &c);
  const bench_opt opts[] = {BENCH_TABLE(shared), BENCH_FLAG("json", &c.json), BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!c.model) return bench_usage_error(CMD, "--model is required");
  map_model mm;
  map_hw hw;
  memset(&mm, 0, sizeof mm);
  if ((rc = bench_map_setup(CMD, &c, &mm, &hw))) return rc;
  int first = 0, last = MAP_NSTRATEGIES - 1;
  if (c.strategy) {
    const map_strategy *st = map_strategy_find(c.strategy);
    if (!st) {
      map_model_destroy(&mm);
      return bench_usage_error(CMD, "--strategy: %s", mon_errmsg());
    }
    first = last = st->id;
  }
  long long tokens = mm.nlayers ? mm.layer[0].tokens : 0;
  map_stats st[MAP_NSTRATEGIES];
  map_cost cost[MAP_NSTRATEGIES];
  map_mapping mp[MAP_NSTRATEGIES];
  int ok[MAP_NSTRATEGIES] = {0};
  char err[MAP_NSTRATEGIES][512];
  for (int s = first; s <= last; s++) {
    /* a budget binds Auto; the fixed strategies are shown regardless (and flagged) */
    map_options o = c.opt;
    if (s != MAP_AUTO) o.budget_arrays = o.budget_adcs = 0;
    map_stream cs = {0};
    int bad = map_build(&mp[s], &mm, &hw, (map_strategy_id)s, &o);
    if (!bad)
      bad = map_schedule(&cs, &mp[s], &mm, &hw) ||
            map_stats_compute(&st[s], &mp[s], &mm, &hw, &cs) ||
            map_cost_compute(&cost[s], NULL, &cs, &mp[s], &mm, &hw);
    map_stream_destroy(&cs);
    if (bad) {
      snprintf(err[s], sizeof err[s], "%s", mon_errmsg());
      if (first == last) {
        map_model_destroy(&mm);
        return bench_error(CMD, "%s: %s", map_strategies[s].name, err[s]);
      }
      continue;
    }
    ok[s] = 1;
  }
  int budget = c.opt.budget_arrays;
  if (c.opt.budget_adcs) {
    int b2 = c.opt.budget_adcs / map_hw_adcs_per_array(&hw);
    if (!budget || b2 < budget) budget = b2;
  }
  const map_stats *any = NULL;
  for (int s = first; s <= last; s++)
    if (ok[s]) any = &st[s];
  if (c.json) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", "map");
    cJSON_AddStringToObject(root, "version", bench_version_string());
    cJSON_AddStringToObject(root, "git_commit", bench_git_commit());
    cJSON_AddStringToObject(root, "model", c.model);
    cJSON_AddNumberToObject(root, "nblocks", c.nblocks);
    cJSON_AddNumberToObject(root, "linear_layers", mm.nlayers);
    cJSON_AddNumberToObject(root, "tokens_per_inference", (double)tokens);
    cJSON_AddStringToObject(root, "hw", hw.name);
    cJSON_AddNumberToObject(root, "array_rows", hw.rows);
    cJSON_AddNumberToObject(root, "array_cols", hw.cols);
    cJSON_AddNumberToObject(root, "adcs_per_array", map_hw_adcs_per_array(&hw));
    cJSON_AddNumberToObject(root, "budget_arrays", budget);
    cJSON_AddStringToObject(root, "objective",
                            c.opt.objective == MAP_OBJ_ENERGY ? "energy" : "latency");
    cJSON_AddStringToObject(root, "dense_layout", map_dense_layout_name(c.opt.dense_layout));
    cJSON_AddNumberToObject(root, "dense_row_split",
                            c.opt.dense_row_split > 1 ? c.opt.dense_row_split : 1);
    cJSON_AddNumberToObject(root, "share_rows", c.opt.share_rows);
    cJSON_AddNumberToObject(root, "digital_lanes", hw.digital_lanes);
    cJSON_AddNumberToObject(root, "fold_permute", hw.fold_permute);
    cJSON_AddNumberToObject(root, "adc_lossless", hw.adc_lossless);
    if (any) {
      cJSON_AddNumberToObject(root, "dense_params", (double)any->dense_params);
      cJSON_AddNumberToObject(root, "model_params", (double)any->model_params);
      cJSON_AddNumberToObject(root, "param_reduction",
                              (double)any->dense_params / (double)any->model_params);
      cJSON_AddNumberToObject(root, "dense_flops_per_token", (double)any->dense_flops);
      cJSON_AddNumberToObject(root, "model_flops_per_token", (double)any->model_flops);
      cJSON_AddNumberToObject(root, "flop_reduction",
                              (double)any->dense_flops / (double)any->model_flops);
    }
    cJSON *arr = cJSON_AddArrayToObject(root, "strategies");
    for (int s = first; s <= last; s++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "strategy", map_strategies[s].name);
      if (ok[s]) {
        add_stats(o, &st[s], &mp[s], tokens);
        add_cost(o, &cost[s]);
      } else
        cJSON_AddStringToObject(o, "error", err[s]);
      cJSON_AddItemToArray(arr, o);
    }
    char *txt = cJSON_Print(root);
    printf("%s\n", txt);
    cJSON_free(txt);
    cJSON_Delete(root);
  } else {
    char nbs[32];
    if (c.nblocks == MAP_NBLOCKS_SQRT)
      snprintf(nbs, sizeof nbs, "sqrt(in)");
    else if (c.nblocks == MAP_NBLOCKS_CONFIG)
      snprintf(nbs, sizeof nbs, "from config");
    else
      snprintf(nbs, sizeof nbs, "%d", c.nblocks);
    printf("# moncim map: model %s, %d linear layers, nblocks %s, %lld tokens/inference\n", c.model,
           mm.nlayers, nbs, tokens);
    printf("# hw %s: %dx%d arrays, %d ADCs/array (%d bitlines each), cell %d b, w %d b, in %d b, "
           "DAC %d b, ADC %d b\n",
           hw.name, hw.rows, hw.cols, map_hw_adcs_per_array(&hw), hw.cols_per_adc, hw.cell_bits,
           hw.w_bits, hw.in_bits, hw.dac_bits, hw.adc_bits);
    if (any)
      printf("# params: dense %lld, model %lld (%.2fx fewer); FLOPs/token: dense %lld, model %lld "
             "(%.2fx fewer)\n",
             any->dense_params, any->model_params,
             (double)any->dense_params / (double)any->model_params, any->dense_flops,
             any->model_flops, (double)any->dense_flops / (double)any->model_flops);
    printf("# options: dense layout %s, dense row split %d, share rows %d, digital_lanes %d, "
           "fold_permute %d, adc_lossless %d; cost per token (docs/cost-model.md): latency = "
           "critical path (array | ADC | digital)\n",
           map_dense_layout_name(c.opt.dense_layout),
           c.opt.dense_row_split > 1 ? c.opt.dense_row_split : 1, c.opt.share_rows,
           hw.digital_lanes, hw.fold_permute, hw.adc_lossless);
    printf("%-8s %7s %7s %6s %5s %5s %5s %8s %7s %6s %9s %8s %8s %8s %10s %8s %9s  %s\n",
           "strategy", "arrays", "ADCs", "util%", "rows", "ADCb", "ADCc", "MVM/tok", "critMVM",
           "perm", "lat_us", "arr_us", "adc_us", "dig_us", "E_nJ", "ADC_nJ", "area_mm2",
           "layers L/S/D");
    for (int s = first; s <= last; s++) {
      if (!ok[s]) {
        printf("%-8s  error: %s\n", map_strategies[s].name, err[s]);
        continue;
      }
      int n[MAP_AUTO] = {0};
      for (int l = 0; l < mp[s].nlayers; l++) n[mp[s].lmap[l].strategy]++;
      const map_stats *x = &st[s];
      const map_cost *k = &cost[s];
      printf("%-8s %7d %7d %6.2f %5d %5d %5d %8lld %7lld %6lld %9.2f %8.2f %8.2f %8.2f %10.2f "
             "%8.2f %9.4f  %d/%d/%d%s\n",
             map_strategies[s].name, x->arrays, x->adcs, 100 * x->utilization, x->max_active_rows,
             x->adc_bits_lossless, (int)k->adc_bits_costed, x->mvms, x->crit_mvms, x->permutes,
             k->latency_ns / 1e3, k->latency_array_ns / 1e3, k->latency_adc_ns / 1e3,
             k->latency_digital_ns / 1e3, k->energy_pj / 1e3, k->energy_adc_pj / 1e3, k->area_mm2,
             n[0], n[1], n[2], budget && x->arrays > budget ? "  (over budget)" : "");
    }
    if (ok[MAP_LINEAR] && ok[MAP_SPARSE] && ok[MAP_DENSE])
      printf("# DenseMap: %.1f%% fewer arrays than Linear, %.1f%% fewer than SparseMap; "
             "utilization %.2fx SparseMap's\n",
             100.0 * (1 - (double)st[MAP_DENSE].arrays / st[MAP_LINEAR].arrays),
             100.0 * (1 - (double)st[MAP_DENSE].arrays / st[MAP_SPARSE].arrays),
             st[MAP_DENSE].utilization / st[MAP_SPARSE].utilization);
  }
  for (int s = first; s <= last; s++)
    if (ok[s]) map_mapping_destroy(&mp[s]);
  map_model_destroy(&mm);
  for (int s = first; s <= last; s++)
    if (!ok[s] && s == MAP_AUTO) return BENCH_FAIL; /* e.g. the budget is too small */
  return BENCH_OK;
}
