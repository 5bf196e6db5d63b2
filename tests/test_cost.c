/* Tests of the one cost model (mapping/cost.c): hand-computed latency/energy/area of a tiny
 * layer, the ADC bits model, exact component and per-layer sums, ADC sharing, parallel arrays,
 * SparseMap vs DenseMap at paper scale, folded permutations, per-mapping lossless ADC costing,
 * and rejection of bad hardware fields. */
#include <criterion/criterion.h>

#include "mapping.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define REL_EQ(a, b, what)                                                                         \
  cr_expect(fabs((double)(a) - (double)(b)) <= 1e-9 * fmax(1.0, fabs((double)(b))),                \
            "%s: %.15g != %.15g", what, (double)(a), (double)(b))

/* Small tile: m x m arrays, `cpa` columns per ADC, default (ISAAC) timings and energies. */
static map_hw small_hw(int m, int cpa) {
  map_hw hw;
  map_hw_default(&hw);
  hw.rows = hw.cols = m;
  hw.cols_per_adc = cpa;
  return hw;
}

typedef struct {
  map_model mm;
  map_mapping mp;
  map_stream cs;
} fixture;

/* One dense layer (out, in) mapped with Linear. */
static void one_dense(fixture *f, const map_hw *hw, int out, int in) {
  map_model_init(&f->mm, "tiny");
  cr_assert_eq(map_model_add(&f->mm, "fc", 0, MAP_FC, out, in, 0, 1, NULL, NULL, NULL), 0, "%s",
               mon_errmsg());
  cr_assert_eq(map_build(&f->mp, &f->mm, hw, MAP_LINEAR, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(map_schedule(&f->cs, &f->mp, &f->mm, hw), 0, "%s", mon_errmsg());
}

static void fixture_free(fixture *f) {
  map_stream_destroy(&f->cs);
  map_mapping_destroy(&f->mp);
  map_model_destroy(&f->mm);
}

/* MVM time of the model: dac_steps x (t_read + busiest-ADC conversions x t_adc). */
static double mvm_ns(const map_hw *hw, int conv) {
  return map_hw_dac_steps(hw) * (hw->t_read_ns + conv * hw->t_adc_ns);
}

Test(cost, tiny_layer_by_hand) {
  map_hw hw = small_hw(8, 4);
  fixture f;
  one_dense(&f, &hw, 6, 5);
  cr_assert_eq(f.mp.narrays, 1);
  cr_assert_eq(f.mp.npieces, 1);
  cr_assert_eq(f.mp.piece[0].row0, 0);
  cr_assert_eq(f.mp.piece[0].col0, 0);
  map_cost c, ly[1];
  cr_assert_eq(map_cost_compute(&c, ly, &f.cs, &f.mp, &f.mm, &hw), 0, "%s", mon_errmsg());
  int sl = map_hw_slices(&hw), st = map_hw_dac_steps(&hw);
  cr_assert_eq(sl, 8); /* 7 magnitude bits over 2-bit cells = 4 slices, x2 differential pair */
  cr_assert_eq(st, 8); /* 8-bit inputs, 1-bit DAC */
  /* physical bitlines j*8 + c, c < 6, ADCs of 4 bitlines: ADC 2j converts 4, ADC 2j+1 two */
  REL_EQ(c.latency_ns, 8 * (hw.t_read_ns + 4 * hw.t_adc_ns), "latency");
  REL_EQ(c.latency_array_ns, 8 * hw.t_read_ns, "latency array");
  REL_EQ(c.latency_adc_ns, 8 * 4 * hw.t_adc_ns, "latency adc");
  REL_EQ(c.latency_digital_ns, 0, "latency digital");
  cr_expect_eq(c.conversions, 6 * 8 * 8);
  cr_expect_eq(c.steps, 8);
  REL_EQ(c.energy_dac_pj, 5 * 8 * hw.e_dac_pj, "E dac");
  REL_EQ(c.energy_array_pj, 30 * 8 * 8 * hw.e_cell_pj, "E array");
  REL_EQ(c.energy_adc_pj, 384 * hw.e_adc_pj, "E adc"); /* adc_bits = adc_ref_bits */
  REL_EQ(c.energy_shiftadd_pj, 384 * hw.e_digital_pj, "E shift-add");
  REL_EQ(c.energy_digital_pj, 0, "E digital");
  REL_EQ(c.energy_buffer_pj, (5 + 6) * hw.e_buffer_pj, "E buffer");
  cr_expect_eq(c.arrays, 1);
  cr_expect_eq(c.crossbars, 8);
  cr_expect_eq(c.adcs, 16);
  cr_expect_eq(c.dacs, 8);
  REL_EQ(c.area_array_mm2, 8 * hw.a_array_mm2, "A array");
  REL_EQ(c.area_adc_mm2, 16 * hw.a_adc_mm2, "A adc");
  REL_EQ(c.area_dac_mm2, 8 * hw.a_dac_mm2, "A dac");
  REL_EQ(c.area_digital_mm2, hw.a_digital_mm2, "A digital");
  REL_EQ(c.utilization, 30.0 / 64.0, "utilization");
  fixture_free(&f);
  /* the single layer carries everything */
  REL_EQ(ly[0].energy_pj, c.energy_pj, "layer energy");
  REL_EQ(ly[0].area_mm2, c.area_mm2, "layer area");
  REL_EQ(ly[0].latency_ns, c.latency_ns, "layer latency");
  /* a bias adds one DIGITAL op: 6 adds after the MVM, 3 buffer words per element */
  static const float bias[6] = {0};
  map_model_init(&f.mm, "tiny-bias");
  cr_assert_eq(map_model_add(&f.mm, "fc", 0, MAP_FC, 6, 5, 0, 1, NULL, NULL, bias), 0);
  cr_assert_eq(map_build(&f.mp, &f.mm, &hw, MAP_LINEAR, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(map_schedule(&f.cs, &f.mp, &f.mm, &hw), 0, "%s", mon_errmsg());
  map_cost b;
  cr_assert_eq(map_cost_compute(&b, NULL, &f.cs, &f.mp, &f.mm, &hw), 0, "%s", mon_errmsg());
  REL_EQ(b.latency_ns, c.latency_ns + 6 * hw.t_digital_ns, "latency with bias");
  REL_EQ(b.latency_digital_ns, 6 * hw.t_digital_ns, "bias on the critical path");
  REL_EQ(b.energy_digital_pj, 6 * hw.e_digital_pj, "E digital with bias");
  REL_EQ(b.energy_buffer_pj, (5 + 6 + 18) * hw.e_buffer_pj, "E buffer with bias");
  fixture_free(&f);
}

Test(cost, adc_model_monotone_and_reference) {
  map_hw hw;
  map_hw_default(&hw);
  REL_EQ(map_hw_adc_energy_pj(&hw, hw.adc_ref_bits), hw.e_adc_pj, "E(ref)");
  REL_EQ(map_hw_adc_area_mm2(&hw, hw.adc_ref_bits), hw.a_adc_mm2, "A(ref)");
  for (int b = 1; b < 24; b++) {
    cr_expect_gt(map_hw_adc_energy_pj(&hw, b + 1), map_hw_adc_energy_pj(&hw, b), "E at %d", b);
    cr_expect_gt(map_hw_adc_area_mm2(&hw, b + 1), map_hw_adc_area_mm2(&hw, b), "A at %d", b);
  }
  /* Walden region: about 2x per bit at 8 -> 9 bits; thermal region: about 4x per bit at 20 */
  double r9 = map_hw_adc_energy_pj(&hw, 9) / map_hw_adc_energy_pj(&hw, 8);
  double r21 = map_hw_adc_energy_pj(&hw, 21) / map_hw_adc_energy_pj(&hw, 20);
  cr_expect(r9 > 2.0 && r9 < 2.05, "E(9)/E(8) = %g", r9);
  cr_expect(r21 > 3.5 && r21 < 4.0, "E(21)/E(20) = %g", r21);
  /* another reference point is reproduced too */
  hw.adc_ref_bits = 5, hw.e_adc_pj = 0.7, hw.a_adc_mm2 = 0.003;
  REL_EQ(map_hw_adc_energy_pj(&hw, 5), 0.7, "E(ref 5)");
  REL_EQ(map_hw_adc_area_mm2(&hw, 5), 0.003, "A(ref 5)");
  /* the cost model uses adc_bits: fewer bits, less ADC energy and area, same conversions */
  map_hw h8 = small_hw(8, 4), h4 = h8;
  h4.adc_bits = 4;
  fixture f;
  one_dense(&f, &h8, 8, 8);
  map_cost c8, c4;
  cr_assert_eq(map_cost_compute(&c8, NULL, &f.cs, &f.mp, &f.mm, &h8), 0);
  cr_assert_eq(map_cost_compute(&c4, NULL, &f.cs, &f.mp, &f.mm, &h4), 0);
  cr_expect_eq(c4.conversions, c8.conversions);
  REL_EQ(c4.energy_adc_pj, c8.conversions * map_hw_adc_energy_pj(&h8, 4), "E adc 4 bits");
  REL_EQ(c4.area_adc_mm2, c8.adcs * map_hw_adc_area_mm2(&h8, 4), "A adc 4 bits");
  cr_expect_lt(c4.energy_adc_pj, c8.energy_adc_pj);
  fixture_free(&f);
}

Test(cost, cols_per_adc_serializes) {
  fixture f;
  map_hw h4 = small_hw(8, 4), h8 = small_hw(8, 8);
  one_dense(&f, &h4, 8, 8);
  map_cost a, b;
  cr_assert_eq(map_cost_compute(&a, NULL, &f.cs, &f.mp, &f.mm, &h4), 0, "%s", mon_errmsg());
  cr_assert_eq(map_cost_compute(&b, NULL, &f.cs, &f.mp, &f.mm, &h8), 0, "%s", mon_errmsg());
  REL_EQ(a.latency_ns, mvm_ns(&h4, 4), "cpa 4");
  REL_EQ(b.latency_ns, mvm_ns(&h8, 8), "cpa 8");
  REL_EQ(b.latency_adc_ns - a.latency_adc_ns, 8 * 4 * h4.t_adc_ns, "extra ADC time");
  cr_expect_eq(b.adcs * 2, a.adcs);
  cr_expect_eq(b.conversions, a.conversions);
  REL_EQ(b.energy_adc_pj, a.energy_adc_pj, "same ADC energy");
  REL_EQ(2 * b.area_adc_mm2, a.area_adc_mm2, "half the ADC area");
  fixture_free(&f);
}

Test(cost, arrays_run_in_parallel) {
  map_hw hw = small_hw(8, 4);
  fixture one, two, acc;
  one_dense(&one, &hw, 8, 8);  /* one array */
  one_dense(&two, &hw, 16, 8); /* two arrays, independent MVMs */
  one_dense(&acc, &hw, 8, 16); /* two arrays, then ACCUM of 2 partial vectors of 8 */
  cr_assert_eq(two.mp.narrays, 2);
  cr_assert_eq(acc.mp.narrays, 2);
  map_cost c1, c2, c3;
  cr_assert_eq(map_cost_compute(&c1, NULL, &one.cs, &one.mp, &one.mm, &hw), 0);
  cr_assert_eq(map_cost_compute(&c2, NULL, &two.cs, &two.mp, &two.mm, &hw), 0);
  cr_assert_eq(map_cost_compute(&c3, NULL, &acc.cs, &acc.mp, &acc.mm, &hw), 0);
  REL_EQ(c2.latency_ns, c1.latency_ns, "max, not sum");
  REL_EQ(c2.energy_adc_pj, 2 * c1.energy_adc_pj, "energy adds");
  REL_EQ(c3.latency_ns, mvm_ns(&hw, 4) + 8 * hw.t_digital_ns, "MVMs || then ACCUM");
  REL_EQ(c3.latency_digital_ns, 8 * hw.t_digital_ns, "ACCUM on the critical path");
  REL_EQ(c3.energy_digital_pj, 8 * hw.e_digital_pj, "ACCUM adds");
  hw.digital_lanes = 3; /* 8 elements on 3 lanes: 3 cycles */
  cr_assert_eq(map_cost_compute(&c3, NULL, &acc.cs, &acc.mp, &acc.mm, &hw), 0);
  REL_EQ(c3.latency_digital_ns, 3 * hw.t_digital_ns, "ACCUM on 3 lanes");
  fixture_free(&one);
  fixture_free(&two);
  fixture_free(&acc);
}

/* Two layers on two arrays: serialised by the stream's layer barrier they cost the sum of their
 * MVMs; with the barrier's dependency removed (the DAG allows overlap) they cost the max. */
Test(cost, independent_layers_overlap) {
  map_hw hw = small_hw(8, 4);
  map_model mm;
  map_model_init(&mm, "two");
  cr_assert_eq(map_model_add(&mm, "a", 0, MAP_FC, 8, 8, 0, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&mm, "b", 1, MAP_FC, 4, 8, 0, 1, NULL, NULL, NULL), 0);
  map_mapping mp;
  map_stream cs;
  cr_assert_eq(map_build(&mp, &mm, &hw, MAP_LINEAR, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(map_schedule(&cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
  cr_assert_eq(mp.narrays, 2);
  double ta = mvm_ns(&hw, 4), tb = mvm_ns(&hw, 4); /* 4 columns per ADC either way */
  map_cost c, ly[2];
  cr_assert_eq(map_cost_compute(&c, ly, &cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
  REL_EQ(c.latency_ns, ta + tb, "serialised layers");
  REL_EQ(ly[0].latency_ns, ta, "layer 0 span");
  REL_EQ(ly[1].latency_ns, tb, "layer 1 span");
  map_cmd *bar = &cs.cmd[cs.io[1].first];
  cr_assert_eq(bar->op, MAP_OP_DIGITAL);
  cr_assert_eq(bar->ndeps, 1);
  bar->ndeps = 0; /* layer 1 no longer waits for layer 0 */
  map_cost d;
  cr_assert_eq(map_cost_compute(&d, NULL, &cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
  REL_EQ(d.latency_ns, fmax(ta, tb), "independent layers in parallel");
  REL_EQ(d.energy_pj, c.energy_pj, "same energy");
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
}

/* Totals = sums of components; per-layer energy, area and latency sum to the totals; counts agree
 * with map_stats. */
static void check_sums(const map_model *mm, const map_hw *hw, map_strategy_id s, map_cost *out) {
  map_mapping mp;
  map_stream cs;
  cr_assert_eq(map_build(&mp, mm, hw, s, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(map_schedule(&cs, &mp, mm, hw), 0, "%s", mon_errmsg());
  map_cost c, *ly = calloc((size_t)mm->nlayers, sizeof *ly);
  cr_assert_eq(map_cost_compute(&c, ly, &cs, &mp, mm, hw), 0, "%s", mon_errmsg());
  const char *nm = map_strategies[s].name;
  REL_EQ(c.latency_array_ns + c.latency_adc_ns + c.latency_digital_ns, c.latency_ns, nm);
  REL_EQ(c.energy_dac_pj + c.energy_array_pj + c.energy_adc_pj + c.energy_shiftadd_pj +
             c.energy_digital_pj + c.energy_buffer_pj,
         c.energy_pj, nm);
  REL_EQ(c.area_array_mm2 + c.area_adc_mm2 + c.area_dac_mm2 + c.area_digital_mm2, c.area_mm2, nm);
  double e = 0, a = 0, t = 0, ta = 0, tc = 0, td = 0;
  long long conv = 0, steps = 0;
  for (int l = 0; l < mm->nlayers; l++) {
    e += ly[l].energy_pj, a += ly[l].area_mm2, t += ly[l].latency_ns;
    ta += ly[l].latency_array_ns, tc += ly[l].latency_adc_ns, td += ly[l].latency_digital_ns;
    conv += ly[l].conversions, steps += ly[l].steps;
  }
  REL_EQ(e, c.energy_pj, "sum of layer energies");
  REL_EQ(a, c.area_mm2, "sum of layer areas");
  int chain = 1; /* every layer reads only the previous one: spans tile the schedule */
  for (int l = 1; l < mm->nlayers; l++)
    chain &= mm->layer[l].npred == 1 && mm->layer[l].pred[0] == l - 1;
  if (chain)
    REL_EQ(t, c.latency_ns, "sum of layer spans (a chain of layers)");
  else
    cr_expect_geq(t, c.latency_ns * (1 - 1e-12), "%s: spans of overlapping layers", nm);
  REL_EQ(ta + tc + td, c.latency_ns, "critical path split by layer");
  cr_expect_eq(conv, c.conversions);
  cr_expect_eq(steps, c.steps);
  map_stats st;
  cr_assert_eq(map_stats_compute(&st, &mp, mm, hw, &cs), 0);
  cr_expect_eq(c.conversions, st.conversions, "%s", nm);
  cr_expect_eq(c.steps, st.mvms * map_hw_dac_steps(hw), "%s", nm);
  cr_expect_eq(c.adcs, st.adcs, "%s", nm);
  REL_EQ(c.utilization, st.utilization, nm);
  if (out) *out = c;
  free(ly);
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
}

Test(cost, sums_zoo_every_strategy) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "zoo-shape", 16), 0, "%s", mon_errmsg());
  map_hw hw = small_hw(128, 128);
  for (int s = 0; s < MAP_NSTRATEGIES; s++) check_sums(&mm, &hw, (map_strategy_id)s, NULL);
  map_model_destroy(&mm);
}

Test(cost, bert_large_sparse_vs_dense) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "bert-large", 32), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw); /* 256 x 256 */
  map_cost sp, de;
  check_sums(&mm, &hw, MAP_SPARSE, &sp);
  check_sums(&mm, &hw, MAP_DENSE, &de);
  /* the paper: DenseMap > 73% fewer arrays than SparseMap; ADCs and converter area follow */
  cr_expect_lt(4 * de.adcs, sp.adcs, "ADCs: dense %lld, sparse %lld", (long long)de.adcs,
               (long long)sp.adcs);
  cr_expect_lt(3 * de.area_mm2, sp.area_mm2, "area: dense %g, sparse %g", de.area_mm2, sp.area_mm2);
  cr_expect_gt(de.utilization, 3 * sp.utilization);
  map_model_destroy(&mm);
}

static const char *write_tmp(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", MONCIM_BINARY_DIR, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

Test(cost, bad_hw_fields_named) {
  static const struct {
    const char *json, *field;
  } bad[] = {
      {"{\"adc_ref_bits\": 0}", "'adc_ref_bits'"},
      {"{\"adc_fom_s_db\": 50}", "'adc_fom_s_db'"},
      {"{\"adc_area_cap_frac\": 1.5}", "'adc_area_cap_frac'"},
      {"{\"e_buffer_pj\": -1}", "'e_buffer_pj'"},
      {"{\"e_buffer_pj\": \"x\"}", "'e_buffer_pj'"},
      {"{\"e_adc_pj\": 1e-5}", "'e_adc_pj'"}, /* below the thermal-noise limit at 8 bits */
  };
  map_hw hw;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *p = write_tmp("hw_cost_bad.json", bad[i].json);
    cr_expect_neq(map_hw_load(&hw, p), 0, "%s accepted", bad[i].json);
    cr_expect_not_null(strstr(mon_errmsg(), bad[i].field), "%s: %s", bad[i].json, mon_errmsg());
  }
  const char *p = write_tmp("hw_cost_ok.json", "{\"adc_ref_bits\": 6, \"e_buffer_pj\": 0}");
  cr_expect_eq(map_hw_load(&hw, p), 0, "%s", mon_errmsg());
  /* a stream mapped for other arrays is rejected, naming the fields */
  map_hw h8 = small_hw(8, 4), h16 = small_hw(16, 4);
  fixture f;
  one_dense(&f, &h8, 8, 8);
  map_cost c;
  cr_expect_neq(map_cost_compute(&c, NULL, &f.cs, &f.mp, &f.mm, &h16), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "'rows'"), "%s", mon_errmsg());
  h8.t_adc_ns = -1;
  cr_expect_neq(map_cost_compute(&c, NULL, &f.cs, &f.mp, &f.mm, &h8), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "'t_adc_ns'"), "%s", mon_errmsg());
  fixture_free(&f);
}

/* Folding the permutation between the factors removes exactly one PERMUTE per layer from a chain
 * of layers: its time (ceil(k q / lanes) t_digital, on the critical path) and its buffer traffic
 * (k q words read and written); the MVMs and conversions are unchanged. */
Test(cost, folded_permutation_saves_exactly_the_permute) {
  map_model mm;
  map_model_init(&mm, "chain");
  cr_assert_eq(map_model_add(&mm, "a", 0, MAP_ATTN_OUT, 256, 256, 8, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&mm, "b", 1, MAP_ATTN_OUT, 256, 256, 8, 1, NULL, NULL, NULL), 0);
  const int lanes[] = {1, 16};
  for (int li = 0; li < 2; li++)
    for (int s = MAP_SPARSE; s <= MAP_DENSE; s++) {
      map_hw hw = small_hw(128, 128);
      hw.digital_lanes = lanes[li];
      map_cost un, fo;
      cr_assert_eq(map_cost_of(&un, &mm, &hw, (map_strategy_id)s, NULL), 0, "%s", mon_errmsg());
      hw.fold_permute = 1;
      cr_assert_eq(map_cost_of(&fo, &mm, &hw, (map_strategy_id)s, NULL), 0, "%s", mon_errmsg());
      const map_layer *L = &mm.layer[0];
      double kq = (double)L->k * L->q;
      REL_EQ(un.latency_ns - fo.latency_ns, 2 * ceil(kq / lanes[li]) * hw.t_digital_ns,
             "latency saved");
      REL_EQ(un.energy_buffer_pj - fo.energy_buffer_pj, 2 * 2 * kq * hw.e_buffer_pj,
             "buffer energy saved");
      cr_expect_eq(un.conversions, fo.conversions);
      REL_EQ(un.energy_adc_pj, fo.energy_adc_pj, "ADC energy");
    }
  map_model_destroy(&mm);
}

/* adc_lossless: ADCs costed at the lossless bits of the most rows a column sums per conversion in
 * the schedule; conversions, energy and area follow the ADC model at those bits exactly. */
Test(cost, adc_lossless_costs_the_schedule_bits) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "zoo-shape", 16), 0, "%s", mon_errmsg());
  map_hw hw = small_hw(256, 128);
  for (int s = 0; s < MAP_AUTO; s++) {
    map_mapping mp;
    map_stream cs;
    map_stats st;
    map_cost fixed, ll;
    cr_assert_eq(map_build(&mp, &mm, &hw, (map_strategy_id)s, NULL), 0, "%s", mon_errmsg());
    cr_assert_eq(map_schedule(&cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
    cr_assert_eq(map_stats_compute(&st, &mp, &mm, &hw, &cs), 0);
    hw.adc_lossless = 0;
    cr_assert_eq(map_cost_compute(&fixed, NULL, &cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
    hw.adc_lossless = 1;
    cr_assert_eq(map_cost_compute(&ll, NULL, &cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
    hw.adc_lossless = 0;
    cr_expect_eq(fixed.adc_bits_costed, hw.adc_bits);
    cr_expect_eq(ll.rows_per_conversion, st.max_active_rows);
    int bits = map_hw_lossless_adc_bits(&hw, st.max_active_rows);
    cr_expect_eq(ll.adc_bits_costed, bits);
    cr_expect_eq(ll.conversions, fixed.conversions);
    REL_EQ(ll.energy_adc_pj, (double)ll.conversions * map_hw_adc_energy_pj(&hw, bits), "ADC E");
    REL_EQ(ll.area_adc_mm2, (double)ll.adcs * map_hw_adc_area_mm2(&hw, bits), "ADC area");
    REL_EQ(ll.latency_ns, fixed.latency_ns, "latency (the ADC rate is the hardware's)");
    map_stream_destroy(&cs);
    map_mapping_destroy(&mp);
  }
  /* zoo nblocks 16: Linear sums 256 rows (10 bits lossless), SparseMap 16-row blocks (7 bits) */
  map_cost li, sp;
  hw.adc_lossless = 1;
  cr_assert_eq(map_cost_of(&li, &mm, &hw, MAP_LINEAR, NULL), 0);
  cr_assert_eq(map_cost_of(&sp, &mm, &hw, MAP_SPARSE, NULL), 0);
  cr_expect_eq(li.adc_bits_costed, 10);
  cr_expect_lt(sp.adc_bits_costed, li.adc_bits_costed);
  map_model_destroy(&mm);
}
