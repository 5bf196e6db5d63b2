/* Tests of mapping/: the reference executor reproduces the float product for every strategy,
 * placement invariants, closed-form command counts, the paper-scale claims, files and errors. */
#include <criterion/criterion.h>

#include "mapping.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float urand(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(*st >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static map_hw hw_of(int m) {
  map_hw hw;
  map_hw_default(&hw);
  hw.rows = hw.cols = m;
  if (hw.cols_per_adc > m) hw.cols_per_adc = m;
  return hw;
}

/* Reference product of every layer; returns the max relative error of the executed stream. */
static double run_and_compare(const map_model *mm, const map_stream *cs, const map_mapping *mp,
                              map_ref_info *info) {
  int n = mm->nlayers;
  float **x = calloc((size_t)n, sizeof *x), **y = calloc((size_t)n, sizeof *y);
  uint64_t seed = 42;
  for (int l = 0; l < n; l++) {
    x[l] = malloc((size_t)mm->layer[l].in * sizeof(float));
    y[l] = calloc((size_t)mm->layer[l].out, sizeof(float));
    for (int i = 0; i < mm->layer[l].in; i++) x[l][i] = urand(&seed);
    if (mp->lmap[l].x_from >= 0) /* one input region: one input vector */
      memcpy(x[l], x[mp->lmap[l].x_from], (size_t)mm->layer[l].in * sizeof(float));
  }
  int rc = map_ref_run(cs, mp, mm, (const float *const *)x, y, info);
  cr_assert_eq(rc, 0, "reference executor: %s", mon_errmsg());
  double worst = 0;
  for (int l = 0; l < n; l++) {
    const map_layer *L = &mm->layer[l];
    float *ref = calloc((size_t)L->out, sizeof(float));
    if (L->is_monarch)
      mon_monarch_apply_ref(L->mon, 1, x[l], ref);
    else
      mon_dense_matvec(L->w, L->out, L->in, x[l], ref);
    if (L->b)
      for (int i = 0; i < L->out; i++) ref[i] += L->b[i];
    double num = 0, den = 0;
    for (int i = 0; i < L->out; i++) {
      num += ((double)y[l][i] - ref[i]) * ((double)y[l][i] - ref[i]);
      den += (double)ref[i] * ref[i];
    }
    double e = sqrt(num / (den > 0 ? den : 1));
    if (e > worst) worst = e;
    free(ref);
  }
  for (int l = 0; l < n; l++) free(x[l]), free(y[l]);
  free(x), free(y);
  return worst;
}

static long long model_cells(const map_model *mm, const map_mapping *mp) {
  long long c = 0;
  for (int f = 0; f < mp->nfactors; f++)
    c += (long long)mp->factor[f].nb * mp->factor[f].bo * mp->factor[f].bi;
  (void)mm;
  return c;
}

/* Functional check of one (model, strategy, m, variant) plus the invariants every mapping must
 * keep. */
static void check_variant(map_model *mm, map_strategy_id st, int m, map_dense_layout layout,
                          int split, int fold, int share, const char *what0) {
  map_hw hw = hw_of(m);
  hw.fold_permute = fold;
  map_options o = {.dense_layout = layout, .dense_row_split = split, .share_rows = share};
  char what[160];
  snprintf(what, sizeof what, "%s (%s, row split %d, fold %d, share %d)", what0,
           map_dense_layout_name(layout), split, fold, share);
  map_mapping mp;
  map_stream cs;
  map_ref_info info;
  cr_assert_eq(map_build(&mp, mm, &hw, st, &o), 0, "%s: build: %s", what, mon_errmsg());
  cr_assert_eq(map_schedule(&cs, &mp, mm, &hw), 0, "%s: schedule: %s", what, mon_errmsg());
  double e = run_and_compare(mm, &cs, &mp, &info);
  cr_expect_lt(e, 2e-5, "%s %s m=%d: stream output differs from the float product (rel %g)", what,
               map_strategies[st].name, m, e);
  /* every cell of every block programmed exactly once (the executor refuses a second write) */
  cr_expect_eq(info.cells_programmed, model_cells(mm, &mp), "%s: cells programmed %lld != %lld",
               what, info.cells_programmed, model_cells(mm, &mp));
  /* SparseMap/DenseMap: a column sums at most one block's input rows per MVM */
  int maxb = 0;
  for (int f = 0; f < mp.nfactors; f++) {
    int b = mp.factor[f].bi < m ? mp.factor[f].bi : m;
    if (mp.factor[f].strategy == MAP_DENSE && split > 1) b = (mp.factor[f].bi + split - 1) / split;
    if (b > maxb) maxb = b;
  }
  if (st == MAP_SPARSE || st == MAP_DENSE)
    cr_expect_leq(info.max_active_rows, maxb, "%s: %d active rows > block size %d", what,
                  info.max_active_rows, maxb);
  map_stats s;
  cr_assert_eq(map_stats_compute(&s, &mp, mm, &hw, &cs), 0);
  cr_expect_eq(s.cells_used, info.cells_programmed);
  cr_expect_eq(s.max_active_rows, info.max_active_rows, "%s: stats %d vs observed %d rows", what,
               s.max_active_rows, info.max_active_rows);
  /* folding removes exactly the PERMUTE between the factors of every Monarch layer mapped with
   * one input tile per block */
  long long expect_perm = 0;
  for (int l = 0; l < mm->nlayers; l++)
    if (mp.lmap[l].t >= 0) expect_perm += 2 - (fold && mp.factor[mp.lmap[l].factor0].ti == 1);
  cr_expect_eq(s.permutes, expect_perm, "%s: %lld PERMUTEs, expected %lld", what, s.permutes,
               expect_perm);
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
}

/* Every variant of a strategy: both DenseMap layouts, permutation folded or not. */
static void check_one(map_model *mm, map_strategy_id st, int m, const char *what) {
  for (int fold = 0; fold < 2; fold++) {
    check_variant(mm, st, m, MAP_DENSE_INTERLEAVED, 1, fold, 0, what);
    if (st == MAP_DENSE || st == MAP_AUTO) {
      check_variant(mm, st, m, MAP_DENSE_CONTIGUOUS, 1, fold, 0, what);
      check_variant(mm, st, m, MAP_DENSE_INTERLEAVED, 3, fold, 0, what); /* uneven subsets */
    }
  }
}

static void zoo_grid(const int *nbs, int nnb, const int *ms, int nm) {
  for (int i = 0; i < nnb; i++) {
    map_model mm;
    /* one transformer block of the zoo shape holds every zoo layer shape; two blocks let
     * DenseMap pack factors of different layers into shared arrays */
    cr_assert_eq(map_model_transformer(&mm, "zoo", 2, 256, 1024, 16, nbs[i], 0, 1), 0, "%s",
                 mon_errmsg());
    cr_assert_eq(map_model_random_weights(&mm, 7 + (uint64_t)i), 0, "%s", mon_errmsg());
    for (int j = 0; j < nm; j++)
      for (int st = 0; st < MAP_NSTRATEGIES; st++) {
        char what[64];
        snprintf(what, sizeof what, "zoo nblocks=%d", nbs[i]);
        check_one(&mm, (map_strategy_id)st, ms[j], what);
      }
    map_model_destroy(&mm);
  }
}

/* Representative subset (default suite): small and large arrays, coarse and fine blocks. */
Test(mapping, functional_zoo_subset) {
  int nbs[] = {4, MAP_NBLOCKS_SQRT}, ms[] = {64, 256};
  zoo_grid(nbs, 2, ms, 2);
}

/* The full grid of the issue: opt-in (MONCIM_TEST_FULL=1, `make test-full`). */
Test(mapping, functional_zoo_full) {
  if (!getenv("MONCIM_TEST_FULL")) cr_skip_test("set MONCIM_TEST_FULL=1 (make test-full)");
  int nbs[] = {4, 8, 16, MAP_NBLOCKS_SQRT}, ms[] = {64, 128, 256, 512};
  zoo_grid(nbs, 4, ms, 4);
}

/* Block sizes that do not divide m, padded Monarch factors, blocks larger than m, dense layers
 * and biases all map and compute exactly. */
Test(mapping, functional_odd_shapes) {
  map_model mm;
  map_model_init(&mm, "odd");
  mon_monarch pad;
  cr_assert_eq(mon_monarch_create(&pad, 100, 90, 4), 0); /* padded: 90 -> 92, 100 -> 100 */
  uint64_t sd = 5;
  for (size_t i = 0; i < mon_monarch_w1_len(&pad); i++) pad.w1[i] = urand(&sd);
  for (size_t i = 0; i < mon_monarch_w2_len(&pad); i++) pad.w2[i] = urand(&sd);
  float *w = malloc(70 * 130 * sizeof(float)), bias[100];
  for (int i = 0; i < 70 * 130; i++) w[i] = urand(&sd);
  for (int i = 0; i < 100; i++) bias[i] = urand(&sd);
  cr_assert_eq(map_model_add(&mm, "padded", 0, MAP_FC, 100, 90, 0, 1, NULL, &pad, bias), 0, "%s",
               mon_errmsg());
  cr_assert_eq(map_model_add(&mm, "dense", 1, MAP_PROJ, 70, 130, 0, 1, w, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&mm, "b48", 2, MAP_FC, 144, 96, 2, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&mm, "b120", 3, MAP_ATTN_OUT, 360, 360, 3, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_random_weights(&mm, 3), 0);
  int ms[] = {32, 64, 100};
  for (int j = 0; j < 3; j++)
    for (int st = 0; st < MAP_NSTRATEGIES; st++) check_one(&mm, (map_strategy_id)st, ms[j], "odd");
  map_model_destroy(&mm);
  mon_monarch_destroy(&pad);
  free(w);
}

/* Shared row bands: an encoder-decoder with separate q/k/v and cross k/v, DenseMap (and Auto)
 * with share_rows, both layouts, folded or not: exact through the reference executor (one input
 * region per group, one DRIVE per shared band), with fewer MVMs and DRIVEs than unshared. */
Test(mapping, functional_shared_row_bands) {
  map_model mm;
  cr_assert_eq(map_model_transformer(&mm, "encdec", 2, 128, 512, 1, 8, 1, 0), 0, "%s",
               mon_errmsg());
  cr_assert_eq(map_model_random_weights(&mm, 17), 0);
  cr_expect_eq(mm.layer[1].same_input, 0); /* k reads q's input */
  cr_expect_eq(mm.layer[2].same_input, 0); /* v */
  int ms[] = {64, 128};
  for (int mi = 0; mi < 2; mi++)
    for (int st = MAP_DENSE; st <= MAP_AUTO; st++)
      for (int fold = 0; fold < 2; fold++)
        for (int lay = 0; lay < 2; lay++)
          check_variant(&mm, (map_strategy_id)st, ms[mi], (map_dense_layout)lay, 1, fold, 1,
                        "encdec shared");
  map_hw hw = hw_of(64);
  long long drives[2], mvms[2];
  for (int sh = 0; sh < 2; sh++) {
    map_options o = {.share_rows = sh};
    map_mapping mp;
    map_stream cs;
    cr_assert_eq(map_build(&mp, &mm, &hw, MAP_DENSE, &o), 0, "%s", mon_errmsg());
    cr_assert_eq(map_schedule(&cs, &mp, &mm, &hw), 0, "%s", mon_errmsg());
    if (sh) cr_expect_gt(mp.shared_mvms, 0);
    drives[sh] = 0;
    for (int i = 0; i < cs.ncmds; i++) drives[sh] += cs.cmd[i].op == MAP_OP_DRIVE;
    mvms[sh] = cs.nmvm;
    /* q, k, v (and cross k, v) share a band: each shared MVM replaces g MVMs by one */
    if (sh) cr_expect_lt(mvms[1], mvms[0]);
    map_stream_destroy(&cs);
    map_mapping_destroy(&mp);
  }
  cr_expect_lt(drives[1], drives[0]);
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- closed-form command counts */

static int cdiv(int a, int b) {
  return (a + b - 1) / b;
}

static int count_cmds(map_model *mm, map_strategy_id st, int m) {
  map_hw hw = hw_of(m);
  map_mapping mp;
  map_stream cs;
  cr_assert_eq(map_build(&mp, mm, &hw, st, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(map_schedule(&cs, &mp, mm, &hw), 0, "%s", mon_errmsg());
  int n = cs.ncmds;
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  return n;
}

Test(mapping, command_count_closed_form) {
  int d = 256, nb = 16, m = 128, s = d / nb, g = m / s;
  map_model mm;
  map_model_init(&mm, "sq");
  cr_assert_eq(map_model_add(&mm, "a", 0, MAP_ATTN_OUT, d, d, nb, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&mm, "b", 1, MAP_ATTN_OUT, d, d, nb, 1, NULL, NULL, NULL), 0);
  int L = 2;
  /* per layer: BARRIER + 2 PERMUTE; per factor nb PROGRAM */
  int sparse = L * (1 + 2 + 2 * (nb + 2 * cdiv(nb, g)));      /* one DRIVE+CONVERT per array */
  int dense = L * (1 + 2 + 2 * (nb + 2 * nb));                /* one DRIVE+CONVERT per block */
  int t = cdiv(d, m);                                         /* Linear: t x t tiles */
  int linear = L * (1 + t * t + 2 * t * t + (t > 1 ? 1 : 0)); /* + ACCUM over input tiles */
  cr_expect_eq(count_cmds(&mm, MAP_SPARSE, m), sparse);
  cr_expect_eq(count_cmds(&mm, MAP_DENSE, m), dense);
  cr_expect_eq(count_cmds(&mm, MAP_LINEAR, m), linear);
  map_model_destroy(&mm);
  /* rectangular zoo FC (1024 x 256) under SparseMap: blocks (bo, bi) per array min(m/bi, m/bo) */
  map_model_init(&mm, "fc");
  cr_assert_eq(map_model_add(&mm, "fc", 0, MAP_FC, 1024, 256, 8, 1, NULL, NULL, NULL), 0);
  const map_layer *F = &mm.layer[0];
  int per1 = (m / F->p < m / F->q ? m / F->p : m / F->q),
      per2 = (m / F->r < m / F->s ? m / F->r : m / F->s);
  int exp = 1 + 2 + F->k + 2 * cdiv(F->k, per1) + F->l + 2 * cdiv(F->l, per2);
  cr_expect_eq(count_cmds(&mm, MAP_SPARSE, m), exp);
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- paper-scale claims */

Test(mapping, bert_large_densemap_vs_linear_and_sparsemap) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "bert-large", 32), 0, "%s", mon_errmsg());
  map_hw hw = hw_of(256);
  map_stats s[3];
  for (int st = 0; st < 3; st++) {
    map_mapping mp;
    cr_assert_eq(map_build(&mp, &mm, &hw, (map_strategy_id)st, NULL), 0, "%s", mon_errmsg());
    cr_assert_eq(map_stats_compute(&s[st], &mp, &mm, &hw, NULL), 0);
    map_mapping_destroy(&mp);
  }
  /* SparseMap utilization is exactly b/m (every BERT block has min side b = 32) */
  cr_expect_float_eq(s[MAP_SPARSE].utilization, 32.0 / 256.0, 1e-12);
  cr_expect_leq(4 * s[MAP_DENSE].arrays, s[MAP_LINEAR].arrays);
  cr_expect_geq(s[MAP_DENSE].utilization, 3 * s[MAP_SPARSE].utilization);
  cr_expect_eq(s[MAP_LINEAR].utilization, 1.0);    /* 1024 and 4096 are multiples of 256 */
  cr_expect_eq(s[MAP_DENSE].max_active_rows, 128); /* PROJ w1 blocks are (32 out, 128 in) */
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- Auto */

Test(mapping, auto_respects_budget_and_beats_pure_latency) {
  map_model mm;
  cr_assert_eq(map_model_transformer(&mm, "zoo", 2, 256, 1024, 16, 8, 0, 1), 0);
  map_hw hw = hw_of(128);
  map_cost pure[3], au;
  for (int st = 0; st < 3; st++)
    cr_assert_eq(map_cost_of(&pure[st], &mm, &hw, (map_strategy_id)st, NULL), 0);
  map_mapping mp;
  map_options o = {.objective = MAP_OBJ_LATENCY};
  cr_assert_eq(map_cost_of(&au, &mm, &hw, MAP_AUTO, &o), 0, "%s", mon_errmsg());
  double best = fmin(pure[0].latency_ns, fmin(pure[1].latency_ns, pure[2].latency_ns));
  cr_expect_leq(au.latency_ns, best * (1 + 1e-9), "auto %g > best pure %g", au.latency_ns, best);
  /* a budget between DenseMap and SparseMap: Auto stays within it */
  int budget = (int)(pure[MAP_DENSE].arrays + pure[MAP_SPARSE].arrays) / 2;
  o.budget_arrays = budget;
  cr_assert_eq(map_build(&mp, &mm, &hw, MAP_AUTO, &o), 0, "%s", mon_errmsg());
  cr_expect_leq(mp.narrays, budget);
  map_mapping_destroy(&mp);
  cr_assert_eq(map_cost_of(&au, &mm, &hw, MAP_AUTO, &o), 0, "%s", mon_errmsg());
  cr_expect_leq(au.latency_ns, pure[MAP_DENSE].latency_ns * (1 + 1e-9));
  /* the ADC budget is the array budget times ADCs per array */
  o.budget_arrays = 0;
  o.budget_adcs = budget * map_hw_adcs_per_array(&hw);
  cr_assert_eq(map_build(&mp, &mm, &hw, MAP_AUTO, &o), 0, "%s", mon_errmsg());
  cr_expect_leq(mp.narrays * map_hw_adcs_per_array(&hw), o.budget_adcs);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- bad input */

/* Auto against every pure strategy under the one cost model, for each objective, digital_lanes
 * in {1, 16, 64} and two budgets (none; halfway between DenseMap's and SparseMap's arrays). */
static void auto_property(const char *const *models, int nmodels, const int *nbs, int nnb) {
  static const int lanes[] = {1, 16, 64};
  for (int mi = 0; mi < nmodels; mi++)
    for (int bi = 0; bi < nnb; bi++) {
      map_model mm;
      if (!strcmp(models[mi], "mini-encdec")) /* separate q/k/v and cross-attention, small */
        cr_assert_eq(map_model_transformer(&mm, models[mi], 4, 256, 1024, 16, nbs[bi], 2, 0), 0);
      else
        cr_assert_eq(map_model_workload(&mm, models[mi], nbs[bi]), 0, "%s", mon_errmsg());
      for (int li = 0; li < 3; li++)
        for (int ob = 0; ob < 2; ob++) {
          map_hw hw;
          map_hw_default(&hw);
          hw.digital_lanes = lanes[li];
          map_cost pure[MAP_AUTO], au;
          for (int st = 0; st < MAP_AUTO; st++)
            cr_assert_eq(map_cost_of(&pure[st], &mm, &hw, (map_strategy_id)st, NULL), 0, "%s",
                         mon_errmsg());
          int budgets[2] = {0, (int)(pure[MAP_DENSE].arrays + pure[MAP_SPARSE].arrays) / 2};
          for (int bu = 0; bu < 2; bu++) {
            map_options o = {.objective = (map_objective)ob, .budget_arrays = budgets[bu]};
            cr_assert_eq(map_cost_of(&au, &mm, &hw, MAP_AUTO, &o), 0, "%s", mon_errmsg());
            double a = ob == MAP_OBJ_ENERGY ? au.energy_pj : au.latency_ns, best = INFINITY;
            for (int st = 0; st < MAP_AUTO; st++) {
              if (budgets[bu] && pure[st].arrays > budgets[bu]) continue;
              best = fmin(best, ob == MAP_OBJ_ENERGY ? pure[st].energy_pj : pure[st].latency_ns);
            }
            cr_expect_leq(a, best * (1 + 1e-12),
                          "%s nb %d lanes %d %s budget %d: auto %g > best pure %g", models[mi],
                          nbs[bi], lanes[li], ob ? "energy" : "latency", budgets[bu], a, best);
            if (budgets[bu])
              cr_expect_leq(au.arrays, budgets[bu], "%s nb %d: auto %lld arrays > budget %d",
                            models[mi], nbs[bi], (long long)au.arrays, budgets[bu]);
          }
        }
      map_model_destroy(&mm);
    }
}

Test(mapping, auto_never_worse_than_pure_subset) {
  const char *models[] = {"zoo-shape", "mini-encdec"};
  int nbs[] = {4, 16};
  auto_property(models, 2, nbs, 2);
}

/* The paper-scale grid: opt-in (`make test-full`). */
Test(mapping, auto_never_worse_than_pure_full, .timeout = 1800) {
  if (!getenv("MONCIM_TEST_FULL")) cr_skip_test("set MONCIM_TEST_FULL=1 (make test-full)");
  const char *models[] = {"bert-large", "gpt2-medium", "bart-large"};
  int nbs[] = {8, 16, 32};
  auto_property(models, 3, nbs, 3);
}

/* ---------------------------------------------------------------- DenseMap layouts */

/* Same arrays, cells and utilization in both layouts; interleaved puts the blocks of every factor
 * on distinct arrays (the pool has more arrays than a factor has blocks) and is faster. */
Test(mapping, dense_interleaved_vs_contiguous) {
  map_model mm;
  /* 16 x 16 blocks on 64 x 64 arrays: every pool (16x16, 16x64, 64x16 tiles) has >= 16 arrays */
  cr_assert_eq(map_model_transformer(&mm, "bert-ish", 4, 256, 1024, 16, 16, 0, 0), 0);
  map_hw hw = hw_of(64);
  map_mapping mp[2];
  map_stats st[2];
  map_cost c[2];
  for (int k = 0; k < 2; k++) {
    map_options o = {.dense_layout = (map_dense_layout)k};
    cr_assert_eq(map_build(&mp[k], &mm, &hw, MAP_DENSE, &o), 0, "%s", mon_errmsg());
    cr_assert_eq(map_stats_compute(&st[k], &mp[k], &mm, &hw, NULL), 0);
    cr_assert_eq(map_cost_of(&c[k], &mm, &hw, MAP_DENSE, &o), 0);
  }
  cr_expect_eq(st[0].arrays, st[1].arrays);
  cr_expect_eq(st[0].cells_used, st[1].cells_used);
  cr_expect_eq(st[0].utilization, st[1].utilization);
  cr_expect_eq(st[0].utilization, 1.0); /* the tiles divide 64 x 64 exactly */
  int *seen = calloc((size_t)mp[0].narrays, sizeof *seen);
  for (int f = 0; f < mp[0].nfactors; f++) {
    memset(seen, 0, (size_t)mp[0].narrays * sizeof *seen);
    for (int i = 0; i < mp[0].npieces; i++)
      if (mp[0].piece[i].factor == f)
        cr_expect_eq(seen[mp[0].piece[i].array]++, 0, "factor %d: two blocks on array %d", f,
                     mp[0].piece[i].array);
  }
  free(seen);
  cr_expect_lt(2 * c[0].latency_ns, c[1].latency_ns, "interleaved %g, contiguous %g",
               c[0].latency_ns, c[1].latency_ns);
  for (int k = 0; k < 2; k++) map_mapping_destroy(&mp[k]);
  map_model_destroy(&mm);
}

/* A row split of K drives ceil(b / K) rows per conversion: the schedule's rows per conversion
 * and lossless ADC bits drop, the arrays and utilization stay, conversions grow K-fold. */
Test(mapping, dense_row_split_lowers_rows_per_conversion) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "bert-large", 32), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw);
  map_stats st[2];
  const int split[2] = {1, 4};
  for (int k = 0; k < 2; k++) {
    map_options o = {.dense_row_split = split[k]};
    map_mapping mp;
    cr_assert_eq(map_build(&mp, &mm, &hw, MAP_DENSE, &o), 0, "%s", mon_errmsg());
    cr_assert_eq(map_stats_compute(&st[k], &mp, &mm, &hw, NULL), 0, "%s", mon_errmsg());
    map_mapping_destroy(&mp);
  }
  cr_expect_eq(st[0].max_active_rows, 128); /* PROJ w1 blocks take 128 inputs */
  cr_expect_eq(st[1].max_active_rows, 32);
  cr_expect_eq(st[1].adc_bits_lossless, map_hw_lossless_adc_bits(&hw, 32));
  cr_expect_lt(st[1].adc_bits_lossless, st[0].adc_bits_lossless);
  cr_expect_eq(st[0].arrays, st[1].arrays);
  cr_expect_eq(st[0].cells_used, st[1].cells_used);
  cr_expect_eq(st[1].conversions, 4 * st[0].conversions);
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- dataflow */

/* Separate q/k/v read the same block input: under SparseMap (arrays not shared between layers)
 * k and v run beside q, so the chain (each layer after the previous) is slower by exactly the
 * spans of k and v. */
Test(mapping, dataflow_overlaps_qkv_exactly) {
  map_model df, ch;
  cr_assert_eq(map_model_transformer(&df, "df", 2, 256, 1024, 1, 8, 0, 0), 0);
  cr_assert_eq(map_model_transformer(&ch, "chain", 2, 256, 1024, 1, 8, 0, 0), 0);
  for (int l = 1; l < ch.nlayers; l++) {
    int p = l - 1;
    cr_assert_eq(map_model_set_pred(&ch, l, 1, &p), 0);
  }
  cr_expect_eq(df.layer[2].npred, 0); /* block 0's v reads the embeddings */
  cr_expect_eq(df.layer[3].npred, 3); /* attention output reads q, k, v */
  map_hw hw = hw_of(256);
  map_mapping mp;
  map_stream cs;
  cr_assert_eq(map_build(&mp, &ch, &hw, MAP_SPARSE, NULL), 0);
  cr_assert_eq(map_schedule(&cs, &mp, &ch, &hw), 0);
  map_cost c_ch, c_df, *ly = calloc((size_t)ch.nlayers, sizeof *ly);
  cr_assert_eq(map_cost_compute(&c_ch, ly, &cs, &mp, &ch, &hw), 0, "%s", mon_errmsg());
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  cr_assert_eq(map_cost_of(&c_df, &df, &hw, MAP_SPARSE, NULL), 0, "%s", mon_errmsg());
  double kv = 0; /* spans of k and v of both blocks */
  for (int l = 0; l < ch.nlayers; l++)
    if (ch.layer[l].kind == MAP_QKV &&
        (strstr(ch.layer[l].name, ".k") || strstr(ch.layer[l].name, ".v")))
      kv += ly[l].latency_ns;
  cr_expect_float_eq(c_ch.latency_ns - c_df.latency_ns, kv, 1e-9 * c_ch.latency_ns,
                     "chain %g - dataflow %g != k, v spans %g", c_ch.latency_ns, c_df.latency_ns,
                     kv);
  cr_expect_float_eq(c_ch.energy_pj, c_df.energy_pj, 1e-9 * c_ch.energy_pj);
  free(ly);
  map_model_destroy(&df);
  map_model_destroy(&ch);
}

Test(mapping, bad_pred_named) {
  map_model mm;
  cr_assert_eq(map_model_transformer(&mm, "m", 1, 64, 256, 1, 4, 0, 1), 0);
  int p = 3;
  cr_expect_neq(map_model_set_pred(&mm, 1, 1, &p), 0);
  cr_expect(strstr(mon_errmsg(), "expected an earlier layer"), "%s", mon_errmsg());
  map_model_destroy(&mm);
}

Test(mapping, bad_input_names_the_field) {
  map_model mm;
  map_model_init(&mm, "bad");
  cr_expect_neq(map_model_add(&mm, "x", 0, MAP_FC, 256, 256, 3, 1, NULL, NULL, NULL), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "nblocks"), "%s", mon_errmsg());
  cr_assert_eq(map_model_add(&mm, "x", 0, MAP_FC, 256, 256, 4, 1, NULL, NULL, NULL), 0);
  map_hw hw = hw_of(64);
  hw.rows = 0;
  map_mapping mp;
  cr_expect_neq(map_build(&mp, &mm, &hw, MAP_DENSE, NULL), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "'rows'"), "%s", mon_errmsg());
  hw = hw_of(64);
  map_options o = {.budget_arrays = 1};
  cr_expect_neq(map_build(&mp, &mm, &hw, MAP_AUTO, &o), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "budget-arrays"), "%s", mon_errmsg());
  o = (map_options){.budget_adcs = 3};
  cr_expect_neq(map_build(&mp, &mm, &hw, MAP_AUTO, &o), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "budget-adcs"), "%s", mon_errmsg());
  o = (map_options){.budget_arrays = 2};
  cr_expect_neq(map_build(&mp, &mm, &hw, MAP_LINEAR, &o), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "budget-arrays"), "%s", mon_errmsg());
  cr_expect_null(map_strategy_find("diagonal"));
  cr_expect_not_null(strstr(mon_errmsg(), "diagonal"));
  map_model_destroy(&mm);
  cr_expect_neq(map_model_workload(&mm, "bert-huge", 4), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "bert-huge"));
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

Test(mapping, hw_file_default_and_errors) {
  map_hw a, b;
  map_hw_default(&a);
  cr_assert_eq(map_hw_load(&b, MONCIM_SOURCE_DIR "/configs/hw-default.json"), 0, "%s",
               mon_errmsg());
  char ja[4096] = {0}, jb[4096] = {0};
  FILE *fa = fmemopen(ja, sizeof ja - 1, "w"), *fb = fmemopen(jb, sizeof jb - 1, "w");
  map_hw_write_json(&a, fa);
  map_hw_write_json(&b, fb);
  fclose(fa), fclose(fb);
  cr_expect_str_eq(ja, jb, "configs/hw-default.json differs from map_hw_default");
  const char *p = write_tmp("hw_bad1.json", "{\"rows\": 0}");
  cr_expect_neq(map_hw_load(&b, p), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "hw_bad1.json"), "%s", mon_errmsg());
  cr_expect_not_null(strstr(mon_errmsg(), "'rows'"), "%s", mon_errmsg());
  p = write_tmp("hw_bad2.json", "{\"adc_bit\": 8}");
  cr_expect_neq(map_hw_load(&b, p), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "'adc_bit'"), "%s", mon_errmsg());
  p = write_tmp("hw_bad3.json", "{\"cell_bits\": \"two\"}");
  cr_expect_neq(map_hw_load(&b, p), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "'cell_bits'"), "%s", mon_errmsg());
  p = write_tmp("hw_bad4.json", "{\"rows\": 128,\n \"cols\": }");
  cr_expect_neq(map_hw_load(&b, p), 0);
  cr_expect_not_null(strstr(mon_errmsg(), "hw_bad4.json:2"), "%s", mon_errmsg());
  p = write_tmp("hw_ok.json",
                "{\"_comment\": \"x\", \"rows\": 128, \"cols\": 64, \"cols_per_adc\": 8}");
  cr_assert_eq(map_hw_load(&b, p), 0, "%s", mon_errmsg());
  cr_expect_eq(b.rows, 128);
  cr_expect_eq(b.cols, 64);
  cr_expect_eq(map_hw_adcs_per_array(&b), 64 * map_hw_slices(&b) / 8);
  /* lossless bits: 256 rows of 2-bit cells, 1-bit DAC: 256 * 3 + 1 levels -> 10 bits */
  cr_expect_eq(map_hw_lossless_adc_bits(&a, 256), 10);
  cr_expect_eq(map_hw_lossless_adc_bits(&a, 32), 7);
}

/* ---------------------------------------------------------------- trace files */

/* A hand-made binary trace: header, one command, ndeps dependency ids (docs/mapping.md). */
static size_t put_le(unsigned char *b, size_t o, uint64_t v, int n) {
  for (int i = 0; i < n; i++) b[o + (size_t)i] = (unsigned char)(v >> (8 * i));
  return o + (size_t)n;
}

static size_t craft_trace(unsigned char *b, uint32_t ncmds, int64_t ndeps, int64_t dep0,
                          int32_t cmd_ndeps) {
  memcpy(b, "MONCIMTR", 8);
  size_t o = put_le(b, 8, 1, 4);
  o = put_le(b, o, ncmds, 4);
  o = put_le(b, o, 0, 4); /* nprogram */
  o = put_le(b, o, 0, 4); /* nmvm */
  o = put_le(b, o, (uint64_t)ndeps, 8);
  o = put_le(b, o, 0, 8); /* buf_len */
  o = put_le(b, o, 0, 4); /* nlayers */
  for (int k = 0; k < 13 + 4 - 2; k++) o = put_le(b, o, 0, k == 7 || k == 8 || k == 10 ? 8 : 4);
  o = put_le(b, o, (uint32_t)cmd_ndeps, 4);
  o = put_le(b, o, (uint64_t)dep0, 8);
  for (int64_t i = 0; i < ndeps && i < 4; i++) o = put_le(b, o, 0, 4);
  return o;
}

static int read_trace_bytes(const unsigned char *b, size_t n, map_stream *cs) {
  char path[512];
  snprintf(path, sizeof path, "%s/trace_crafted.bin", MONCIM_BINARY_DIR);
  FILE *f = fopen(path, "wb");
  fwrite(b, 1, n, f);
  fclose(f);
  f = fopen(path, "rb");
  int rc = map_stream_read_binary(cs, f, path);
  fclose(f);
  return rc;
}

Test(mapping, binary_trace_rejects_overflowing_dependency_range) {
  unsigned char b[256];
  map_stream cs;
  /* a valid one-command trace first, so the crafting itself is known right */
  size_t n = craft_trace(b, 1, 1, 0, 1);
  cr_assert_eq(read_trace_bytes(b, n, &cs), 0, "%s", mon_errmsg());
  cr_assert_eq(cs.ncmds, 1);
  cr_assert_eq(cs.cmd[0].ndeps, 1);
  map_stream_destroy(&cs);
  /* dep0 + ndeps wraps around: dep0 near INT64_MAX must not pass the bound check */
  n = craft_trace(b, 1, 1, INT64_MAX, 2);
  cr_assert_neq(read_trace_bytes(b, n, &cs), 0);
  cr_assert(strstr(mon_errmsg(), "command 0"), "%s", mon_errmsg());
}

Test(mapping, binary_trace_header_larger_than_file_is_rejected_before_allocating) {
  unsigned char b[256];
  map_stream cs;
  /* 128-ish bytes claiming 2^31-1 commands and 2^40 dependencies (~100 GB) */
  size_t n = craft_trace(b, INT32_MAX, (int64_t)1 << 40, 0, 0);
  cr_assert_neq(read_trace_bytes(b, n, &cs), 0);
  cr_assert(strstr(mon_errmsg(), "the file holds"), "%s", mon_errmsg());
}

Test(mapping, binary_trace_round_trip) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "zoo-shape", 16), 0);
  map_hw hw = hw_of(128);
  map_mapping mp;
  map_stream cs, back;
  cr_assert_eq(map_build(&mp, &mm, &hw, MAP_DENSE, NULL), 0);
  cr_assert_eq(map_schedule(&cs, &mp, &mm, &hw), 0);
  char path[512];
  snprintf(path, sizeof path, "%s/trace_rt.bin", MONCIM_BINARY_DIR);
  FILE *f = fopen(path, "wb");
  cr_assert_eq(map_stream_write_binary(&cs, f), 0);
  fclose(f);
  f = fopen(path, "rb");
  cr_assert_eq(map_stream_read_binary(&back, f, path), 0, "%s", mon_errmsg());
  fclose(f);
  cr_assert_eq(back.ncmds, cs.ncmds);
  cr_expect_eq(back.ndeps, cs.ndeps);
  cr_expect_eq(back.nprogram, cs.nprogram);
  cr_expect_eq(memcmp(back.cmd, cs.cmd, (size_t)cs.ncmds * sizeof *cs.cmd), 0);
  cr_expect_eq(memcmp(back.dep, cs.dep, (size_t)cs.ndeps * sizeof *cs.dep), 0);
  cr_expect_eq(memcmp(back.io, cs.io, (size_t)cs.nlayers * sizeof *cs.io), 0);
  /* truncation is detected */
  f = fopen(path, "rb");
  char *bytes = malloc(1 << 20);
  size_t n = fread(bytes, 1, 1 << 20, f);
  fclose(f);
  f = fopen(path, "wb");
  fwrite(bytes, 1, n - 7, f);
  fclose(f);
  free(bytes);
  map_stream_destroy(&back);
  f = fopen(path, "rb");
  cr_expect_neq(map_stream_read_binary(&back, f, path), 0);
  fclose(f);
  /* text: one line per command after the io lines */
  f = tmpfile();
  cr_assert_eq(map_stream_write_text(&cs, f), 0);
  rewind(f);
  char line[4096];
  int ncmd = 0;
  while (fgets(line, sizeof line, f))
    if (line[0] >= '0' && line[0] <= '9') ncmd++;
  fclose(f);
  cr_expect_eq(ncmd, cs.ncmds);
  map_stream_destroy(&cs);
  map_stream_destroy(&back);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
}
