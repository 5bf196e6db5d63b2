/* Tests of cimsim/irdrop.c: the exact nodal solver against hand-solved networks and an
 * independent dense nodal restatement, Kirchhoff's current law at every node of random 64 x 64
 * arrays, the fast model as the first-order term of the exact one, and the runner with IR drop:
 * bit for bit today's output without resistance, the direct network solution through the whole
 * DAC / slice / ADC chain, and independence of the thread count. */
#include <criterion/criterion.h>

#include "cimsim.h"
#include "irdrop.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double urand(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*st >> 11) / 9007199254740992.0;
}

static void random_g(double *G, int n, uint64_t seed) {
  for (int i = 0; i < n; i++) G[i] = 0.25e-6 + 24.75e-6 * urand(&seed); /* [Gmin, Gmax] of PCM */
}

static void expect_rel(double got, double want, double tol, const char *what) {
  cr_expect_leq(fabs(got - want), tol * fabs(want), "%s: %.17g, expected %.17g", what, got, want);
}

/* 1 x 1: driver, first row segment, cell, last column segment, sense in series; with r_wire = 0
 * the row and column are single nodes (and fixed when their terminal resistance is 0 too). */
Test(irdrop, one_by_one_series) {
  double cases[][3] = {{2, 100, 50}, {0, 100, 50}, {0, 0, 50}, {3, 0, 0}, {0, 70, 0}};
  for (int k = 0; k < 5; k++) {
    cim_ir_net n = {1, 1, cases[k][0], cases[k][1], cases[k][2]};
    double G = 20e-6, v = 0.7, vr, vc, i;
    cr_assert_eq(cim_ir_solve(&n, &G, &v, &vr, &vc, &i), 0, "%s", mon_errmsg());
    double want = v / (n.r_drv + 2 * n.r_wire + 1 / G + n.r_sns);
    expect_rel(i, want, 1e-12, "1x1 column current");
    expect_rel(vr, v - want * (n.r_drv + n.r_wire), 1e-12, "1x1 row node");
    expect_rel(vc + 1e-300, want * (n.r_sns + n.r_wire) + 1e-300, 1e-12, "1x1 column node");
  }
}

/* 1 x 2: node a (cell 1) fed through r_drv + r_wire, node b one segment further (cell 2); each
 * column drains through r_wire + r_sns. Branches from a: Z1 = 1/G1 + R1, Z2 = r_wire + 1/G2 + R1.
 */
Test(irdrop, one_by_two_divider) {
  cim_ir_net n = {1, 2, 5, 40, 30};
  double G[2] = {10e-6, 22e-6}, v = 1.0, vr[2], vc[2], i[2];
  cr_assert_eq(cim_ir_solve(&n, G, &v, vr, vc, i), 0, "%s", mon_errmsg());
  double R1 = n.r_wire + n.r_sns, Z1 = 1 / G[0] + R1, Z2 = n.r_wire + 1 / G[1] + R1;
  double Zp = Z1 * Z2 / (Z1 + Z2), Va = v * Zp / (n.r_drv + n.r_wire + Zp);
  expect_rel(i[0], Va / Z1, 1e-12, "column 0");
  expect_rel(i[1], Va / Z2, 1e-12, "column 1");
  expect_rel(vr[0], Va, 1e-12, "row node a");
  expect_rel(vr[1], Va - n.r_wire * Va / Z2, 1e-12, "row node b");
}

/* A dense nodal restatement from a list of resistors (naive Gaussian elimination), independent
 * of the solver's indexing: unknowns row node (i, c) = i C + c, column node = R C + i C + c. */
static void dense_reference(const cim_ir_net *n, const double *G, const double *vin, double *icol) {
  int R = n->rows, C = n->cols, N = 2 * R * C;
  double *A = calloc((size_t)N * (N + 1), sizeof *A);
#define AT(a, b) A[(size_t)(a) * (N + 1) + (b)]
#define RES(a, b, g)                                                                               \
  do {                                                                                             \
    AT(a, a) += g, AT(b, b) += g, AT(a, b) -= g, AT(b, a) -= g;                                    \
  } while (0)
  for (int i = 0; i < R; i++)
    for (int c = 0; c < C; c++) {
      int r = i * C + c, k = R * C + i * C + c;
      RES(r, k, G[i * C + c]);
      if (c + 1 < C) RES(r, r + 1, 1 / n->r_wire);
      if (i + 1 < R) RES(k, k + C, 1 / n->r_wire);
    }
  for (int i = 0; i < R; i++) { /* driver: a source vin through r_drv + r_wire */
    double g = 1 / (n->r_drv + n->r_wire);
    AT(i * C, i * C) += g, AT(i * C, N) += g * vin[i];
  }
  for (int c = 0; c < C; c++)
    AT(R * C + (R - 1) * C + c, R * C + (R - 1) * C + c) += 1 / (n->r_sns + n->r_wire);
  for (int p = 0; p < N; p++) {
    for (int q = p + 1; q < N; q++) {
      double f = AT(q, p) / AT(p, p);
      for (int e = p; e <= N; e++) AT(q, e) -= f * AT(p, e);
    }
  }
  double *x = calloc((size_t)N, sizeof *x);
  for (int p = N - 1; p >= 0; p--) {
    double s = AT(p, N);
    for (int e = p + 1; e < N; e++) s -= AT(p, e) * x[e];
    x[p] = s / AT(p, p);
  }
  for (int c = 0; c < C; c++) icol[c] = x[R * C + (R - 1) * C + c] / (n->r_sns + n->r_wire);
#undef AT
#undef RES
  free(A), free(x);
}

Test(irdrop, two_by_two_and_three_by_four_against_dense_restatement) {
  int shapes[][2] = {{2, 2}, {3, 4}};
  for (int s = 0; s < 2; s++) {
    cim_ir_net n = {shapes[s][0], shapes[s][1], 7, 25, 15};
    double G[12], vin[3] = {0.9, -0.4, 0.3}, ic[4], ref[4];
    random_g(G, n.rows * n.cols, 11 + s);
    cr_assert_eq(cim_ir_solve(&n, G, vin, NULL, NULL, ic), 0, "%s", mon_errmsg());
    dense_reference(&n, G, vin, ref);
    for (int c = 0; c < n.cols; c++) expect_rel(ic[c], ref[c], 1e-10, "column current");
  }
}

/* Kirchhoff's current law at every row-wire and column-wire node, from the solved voltages. */
Test(irdrop, kirchhoff_random_64x64) {
  int R = 64, C = 64;
  double rws[] = {0.35, 1.59, 20};
  for (int t = 0; t < 3; t++) {
    cim_ir_net n = {R, C, rws[t], 50, 20};
    double *G = malloc(sizeof(double) * R * C), *vr = malloc(sizeof(double) * R * C);
    double *vc = malloc(sizeof(double) * R * C), vin[64], ic[64];
    random_g(G, R * C, 100 + t);
    uint64_t sd = 7 + t;
    for (int i = 0; i < R; i++) vin[i] = urand(&sd) < 0.3 ? 0 : 2 * urand(&sd) - 1;
    cr_assert_eq(cim_ir_solve(&n, G, vin, vr, vc, ic), 0, "%s", mon_errmsg());
    double worst = 0, gw = 1 / n.r_wire, sum_drv = 0, sum_sns = 0;
    for (int i = 0; i < R; i++)
      for (int c = 0; c < C; c++) {
        size_t e = (size_t)i * C + c;
        double cell = G[e] * (vr[e] - vc[e]);
        double in = c ? gw * (vr[e - 1] - vr[e]) : (vin[i] - vr[e]) / (n.r_drv + n.r_wire);
        double out = c + 1 < C ? gw * (vr[e] - vr[e + 1]) : 0;
        double res = in - out - cell, sc = fabs(in) + fabs(out) + fabs(cell);
        if (sc > 0 && fabs(res) / sc > worst) worst = fabs(res) / sc;
        double cin = i ? gw * (vc[e - C] - vc[e]) : 0;
        double cout = i + 1 < R ? gw * (vc[e] - vc[e + C]) : vc[e] / (n.r_sns + n.r_wire);
        res = cin + cell - cout, sc = fabs(cin) + fabs(cell) + fabs(cout);
        if (sc > 0 && fabs(res) / sc > worst) worst = fabs(res) / sc;
        if (!c) sum_drv += (vin[i] - vr[e]) / (n.r_drv + n.r_wire);
        if (i == R - 1) {
          expect_rel(ic[c], cout, 1e-12, "sense current = last segment's");
          sum_sns += ic[c];
        }
      }
    cr_expect_lt(worst, 1e-9, "r_wire %g: worst relative KCL residual %g", n.r_wire, worst);
    expect_rel(sum_sns, sum_drv, 1e-9, "driver currents = sense currents");
    free(G), free(vr), free(vc);
  }
}

/* The fast (ladder) and first-order models agree with the exact solution to first order: at small
 * resistance their deviation from it is second order (x10 resistance, > x10 deviation); the
 * ladders, exact along each wire, deviate less than the first-order expansion; at zero
 * resistance all three are G exactly. */
Test(irdrop, fast_and_first_order_match_exact_to_first_order) {
  int R = 48, C = 40;
  double *G = malloc(sizeof(double) * R * C), *Te = malloc(sizeof(double) * R * C);
  double *Tm = malloc(sizeof(double) * R * C);
  random_g(G, R * C, 5);
  double rs[] = {1e-3, 1e-2, 1};
  double prev[2] = {0, 0}, at[2][3];
  for (int t = 0; t < 3; t++) {
    cim_ir_net n = {R, C, rs[t], 3 * rs[t], 2 * rs[t]};
    cr_assert_eq(cim_ir_transfer(&n, CIM_IR_EXACT, G, Te, NULL), 0, "%s", mon_errmsg());
    for (int k = 0; k < 2; k++) {
      double dm;
      cr_assert_eq(cim_ir_transfer(&n, k ? CIM_IR_FIRST : CIM_IR_FAST, G, Tm, &dm), 0, "%s",
                   mon_errmsg());
      double num = 0, den = 0;
      for (int e = 0; e < R * C; e++)
        num += (Te[e] - Tm[e]) * (Te[e] - Tm[e]), den += (Te[e] - G[e]) * (Te[e] - G[e]);
      double rel = sqrt(num / den);
      at[k][t] = rel;
      if (t < 2)
        cr_expect_lt(rel, 3 * dm, "model %d r %g: deviation %g, drop %g", k, rs[t], rel, dm);
      if (t == 1)
        cr_expect_gt(rel, 5 * prev[k], "model %d: second order: %g then %g", k, prev[k], rel);
      prev[k] = rel;
    }
  }
  for (int t = 0; t < 3; t++)
    cr_expect_lt(at[0][t], at[1][t], "r %g: ladders %g vs first order %g", rs[t], at[0][t],
                 at[1][t]);
  cim_ir_net z = {R, C, 0, 0, 0};
  for (int k = 0; k < 3; k++) {
    cr_assert_eq(cim_ir_transfer(&z, k, G, Tm, NULL), 0);
    cr_expect_eq(memcmp(Tm, G, sizeof(double) * R * C), 0, "model %d at zero resistance", k);
  }
  free(G), free(Te), free(Tm);
}

/* With a driver resistance alone (r_wire = r_sns = 0) every row is one node and every column a
 * virtual ground: the row ladder is the exact network, so the fast model is exact. */
Test(irdrop, ladder_exact_for_driver_resistance_alone) {
  int R = 5, C = 7;
  double G[35], Te[35], Tf[35];
  random_g(G, R * C, 9);
  cim_ir_net n = {R, C, 0, 300, 0};
  cr_assert_eq(cim_ir_transfer(&n, CIM_IR_EXACT, G, Te, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_ir_transfer(&n, CIM_IR_FAST, G, Tf, NULL), 0, "%s", mon_errmsg());
  for (int e = 0; e < R * C; e++) expect_rel(Tf[e], Te[e], 1e-12, "driver-only ladder");
}

Test(irdrop, noise_spec_errors_name_the_key) {
  cr_expect_eq(cim_noise_check("ir"), 0);
  cr_expect_eq(cim_noise_check("ir:r_wire=0.35,r_drv=100,r_sns=50,model=exact"), 0);
  cr_expect_neq(cim_noise_check("ir:model=spice"), 0);
  cr_expect(strstr(mon_errmsg(), "'model'") && strstr(mon_errmsg(), "fast, exact"), "%s",
            mon_errmsg());
  cr_expect_neq(cim_noise_check("ir:r_wire=-1"), 0);
  cr_expect(strstr(mon_errmsg(), "r_wire"), "%s", mon_errmsg());
  cr_expect_neq(cim_noise_check("ir:r=1"), 0);
  cr_expect(strstr(mon_errmsg(), "r_wire, r_drv, r_sns, model"), "%s", mon_errmsg());
}

/* ---------------------------------------------------------------- the runner */

static map_hw hw_small(int m) {
  map_hw hw;
  map_hw_default(&hw);
  hw.rows = hw.cols = m;
  if (hw.cols_per_adc > m) hw.cols_per_adc = m;
  return hw;
}

typedef struct {
  map_model mm;
  mon_monarch mon;
  float *w;
} irmodel;

/* A dense layer that spans several tiles and a Monarch layer with several blocks per array. */
static void model_two(irmodel *t) {
  map_model_init(&t->mm, "ir");
  uint64_t sd = 9;
  t->w = malloc(40 * 56 * sizeof(float));
  for (int i = 0; i < 40 * 56; i++) t->w[i] = (float)(2 * urand(&sd) - 1);
  cr_assert_eq(mon_monarch_create(&t->mon, 64, 64, 8), 0);
  for (size_t i = 0; i < mon_monarch_w1_len(&t->mon); i++)
    t->mon.w1[i] = (float)(2 * urand(&sd) - 1);
  for (size_t i = 0; i < mon_monarch_w2_len(&t->mon); i++)
    t->mon.w2[i] = (float)(2 * urand(&sd) - 1);
  cr_assert_eq(map_model_add(&t->mm, "dense", 0, MAP_PROJ, 40, 56, 0, 1, t->w, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&t->mm, "mon", 1, MAP_FC, 64, 64, 0, 1, NULL, &t->mon, NULL), 0);
}

static void model_two_free(irmodel *t) {
  map_model_destroy(&t->mm);
  mon_monarch_destroy(&t->mon);
  free(t->w);
}

static float *run(irmodel *t, const map_hw *hw, int st, const char *noise, int layer, int B,
                  const float *x) {
  cim_config cfg;
  cim_config_default(&cfg, hw);
  snprintf(cfg.noise, sizeof cfg.noise, "%s", noise);
  cfg.seed = 31;
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &t->mm, hw, (map_strategy_id)st, NULL, &cfg), 0, "%s",
               mon_errmsg());
  float *y = malloc((size_t)B * t->mm.layer[layer].out * sizeof(float));
  cr_assert_eq(cim_runner_apply(r, layer, 0, B, x, y), 0, "%s", mon_errmsg());
  cim_runner_destroy(r);
  return y;
}

/* No resistance: both models leave every output bit as it was, for every strategy, under noise. */
Test(irdrop, zero_resistance_is_bitwise_today) {
  irmodel t;
  model_two(&t);
  map_hw hw = hw_small(32);
  const char *base = "prog-pcm+read-gauss:sigma=0.02+adc:offset=0.5";
  char with[2][200];
  snprintf(with[0], 200, "%s+ir:r_wire=0,model=fast", base);
  snprintf(with[1], 200, "%s+ir:r_wire=0,model=exact", base);
  for (int st = 0; st < MAP_NSTRATEGIES; st++)
    for (int l = 0; l < 2; l++) {
      int B = 9, in = t.mm.layer[l].in, out = t.mm.layer[l].out;
      float *x = malloc((size_t)B * in * sizeof(float));
      uint64_t sd = 40 + l;
      for (int i = 0; i < B * in; i++) x[i] = (float)(2 * urand(&sd) - 1);
      float *y0 = run(&t, &hw, st, base, l, B, x);
      for (int k = 0; k < 2; k++) {
        float *y = run(&t, &hw, st, with[k], l, B, x);
        cr_expect_eq(memcmp(y0, y, (size_t)B * out * sizeof(float)), 0, "strategy %d layer %d %s",
                     st, l, with[k]);
        free(y);
      }
      free(x), free(y0);
    }
  model_two_free(&t);
}

/* Through the whole chain (bit-serial two's complement digits, 4 differential slices, a fine
 * ADC, shift-and-add): a Linear layer on one 16 x 16 array equals the network solved directly per
 * (DAC step, device column) from the programmed levels, minus the ideal Gmin reference. */
Test(irdrop, runner_equals_direct_network_solution) {
  int m = 16, B = 3;
  map_hw hw = hw_small(m);
  hw.adc_bits = 24;
  irmodel t;
  map_model_init(&t.mm, "one");
  t.w = malloc((size_t)m * m * sizeof(float));
  uint64_t sd = 77;
  for (int i = 0; i < m * m; i++) t.w[i] = (float)floor(255 * urand(&sd)) - 127;
  t.w[5] = 127; /* integer weights with max 127: weight scale 1 */
  cr_assert_eq(map_model_add(&t.mm, "d", 0, MAP_PROJ, m, m, 0, 1, t.w, NULL, NULL), 0);
  float x[3 * 16];
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < m; i++) x[b * m + i] = (float)floor(255 * urand(&sd)) - 127;
    x[b * m + b] = -127; /* integer inputs with max |x| 127: input scale 1 */
  }
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cim_runner *r0;
  cr_assert_eq(cim_runner_create(&r0, &t.mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  int nsl = 8, L = 3;
  float *lev = malloc((size_t)m * nsl * m * sizeof(float));
  cr_assert_eq(cim_runner_levels(r0, 0, lev), 0);
  cim_runner_destroy(r0);
  double gmin = 25e-6 / 100, dg = (25e-6 - gmin) / L;
  const char *models[] = {"exact", "fast"};
  for (int mo = 0; mo < 2; mo++) {
    char noise[100];
    snprintf(noise, sizeof noise, "ir:r_wire=60,r_drv=200,r_sns=100,model=%s", models[mo]);
    float *y = run(&t, &hw, MAP_LINEAR, noise, 0, B, x);
    double *G = malloc(sizeof(double) * m * m), *T = malloc(sizeof(double) * m * m);
    double num = 0, den = 0, eff = 0;
    cim_ir_net n = {m, m, 60, 200, 100};
    for (int b = 0; b < B; b++) {
      double want[16] = {0}, ideal[16] = {0};
      for (int j = 0; j < nsl; j++) {
        for (int e = 0; e < m * m; e++) {
          float l = lev[(size_t)(e / m) * nsl * m + j * m + e % m];
          G[e] = gmin + (isnan(l) ? 0 : l) * dg;
        }
        double sw = (j % 2 ? -1 : 1) * ldexp(1, 2 * (j / 2));
        for (int k = 0; k < 8; k++) {
          double vin[16], ic[16], sd_ = 0, wk = k == 7 ? -128 : ldexp(1, k); /* ideal */
          for (int i = 0; i < m; i++) {
            int q = (int)x[b * m + i];
            vin[i] = ((uint32_t)q >> k) & 1, sd_ += vin[i];
          }
          if (mo == 0) {
            cr_assert_eq(cim_ir_solve(&n, G, vin, NULL, NULL, ic), 0, "%s", mon_errmsg());
          } else {
            cr_assert_eq(cim_ir_transfer(&n, 0, G, T, NULL), 0);
            for (int c = 0; c < m; c++) {
              ic[c] = 0;
              for (int i = 0; i < m; i++) ic[c] += T[i * m + c] * vin[i];
            }
          }
          for (int c = 0; c < m; c++) {
            double id = 0;
            for (int i = 0; i < m; i++) id += G[i * m + c] * vin[i];
            /* the full-scale ADC clips what IR drop pushes below the bottom of its range: 0 for
             * the unsigned digits, -rows L for the negative top bit (24 bits reach beyond the
             * top: 2^6 levels over a 2^24-code range) */
            double v = (ic[c] - gmin * sd_) / dg * (k == 7 ? -1 : 1);
            double lo = k == 7 ? -m * L : 0;
            v = v < lo ? lo : v;
            want[c] += ldexp(1, k) * sw * v;
            ideal[c] += wk * sw * (id - gmin * sd_) / dg;
          }
        }
      }
      for (int c = 0; c < m; c++) {
        num += (y[b * m + c] - want[c]) * (y[b * m + c] - want[c]);
        den += want[c] * want[c], eff += (want[c] - ideal[c]) * (want[c] - ideal[c]);
      }
    }
    cr_expect_lt(sqrt(num / den), 1e-5, "%s: runner vs direct solution: %g", models[mo],
                 sqrt(num / den));
    cr_expect_gt(sqrt(eff / den), 1e-3, "%s: the IR drop is visible: %g", models[mo],
                 sqrt(eff / den));
    free(G), free(T), free(y);
  }
  free(lev);
  map_model_destroy(&t.mm);
  free(t.w);
}

/* IR drop keeps the results independent of the thread count (CHOLMOD and the fold run per
 * crossbar, the extra rows of SparseMap through the same per-block SGEMM). */
Test(irdrop, threads_bitwise_identical) {
  irmodel t;
  model_two(&t);
  map_hw hw = hw_small(32);
  const char *noises[] = {"read-gauss:sigma=0.02+ir:model=fast",
                          "read-gauss:sigma=0.02+ir:r_wire=5,r_drv=50,model=exact"};
  for (int k = 0; k < 2; k++)
    for (int st = 0; st < MAP_NSTRATEGIES; st++)
      for (int l = 0; l < 2; l++) {
        int B = 13, in = t.mm.layer[l].in, out = t.mm.layer[l].out;
        float *x = malloc((size_t)B * in * sizeof(float));
        uint64_t sd = 60 + l;
        for (int i = 0; i < B * in; i++) x[i] = (float)(2 * urand(&sd) - 1);
        omp_set_num_threads(1);
        float *y1 = run(&t, &hw, st, noises[k], l, B, x);
        omp_set_num_threads(2);
        float *y2 = run(&t, &hw, st, noises[k], l, B, x);
        cr_expect_eq(memcmp(y1, y2, (size_t)B * out * sizeof(float)), 0, "%s strategy %d layer %d",
                     noises[k], st, l);
        free(x), free(y1), free(y2);
      }
  model_two_free(&t);
}

/* Where a piece sits matters: on a uniform array with every row at 1 V, a column farther from the
 * row drivers collects less current, and a row farther from the sense amplifiers (the top)
 * delivers less of its current to every column; both models agree on the ordering. */
Test(irdrop, farther_from_drivers_and_sense_loses_more) {
  int R = 32, C = 32;
  cim_ir_net n = {R, C, 2, 0, 0};
  double *G = malloc(sizeof(double) * R * C), *T = malloc(sizeof(double) * R * C), vin[32], ic[32];
  for (int e = 0; e < R * C; e++) G[e] = 10e-6;
  for (int i = 0; i < R; i++) vin[i] = 1;
  cr_assert_eq(cim_ir_solve(&n, G, vin, NULL, NULL, ic), 0, "%s", mon_errmsg());
  for (int c = 1; c < C; c++) cr_expect_lt(ic[c], ic[c - 1], "column %d vs %d", c, c - 1);
  for (int exact = 0; exact < 2; exact++) {
    cr_assert_eq(cim_ir_transfer(&n, exact, G, T, NULL), 0, "%s", mon_errmsg());
    for (int i = 1; i < R; i++)
      cr_expect_gt(T[(size_t)i * C + 5], T[(size_t)(i - 1) * C + 5], "model %d: row %d", exact, i);
  }
  free(G), free(T);
}

/* The fast model warns (once per runner) when the largest first-order drop leaves the range where
 * it was validated against the exact solution, and stays quiet inside it. */
Test(irdrop, fast_model_warns_outside_its_range) {
  irmodel t;
  model_two(&t);
  map_hw hw = hw_small(32);
  const char *noises[] = {"ir:r_wire=0.01,model=fast", "ir:r_wire=1000,model=fast"};
  double drop[2];
  char msg[2][512];
  for (int k = 0; k < 2; k++) {
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    snprintf(cfg.noise, sizeof cfg.noise, "%s", noises[k]);
    FILE *cap = tmpfile();
    cr_assert(cap);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(cap), 2);
    cim_runner *r;
    int rc = cim_runner_create(&r, &t.mm, &hw, MAP_LINEAR, NULL, &cfg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    cr_assert_eq(rc, 0, "%s", mon_errmsg());
    drop[k] = cim_runner_ir_drop(r);
    cim_runner_destroy(r);
    rewind(cap);
    size_t len = fread(msg[k], 1, sizeof msg[k] - 1, cap);
    msg[k][len] = '\0';
    fclose(cap);
  }
  cr_expect_lt(drop[0], CIM_IR_FAST_DROP_MAX);
  cr_expect_eq(msg[0][0], '\0', "no warning at drop %g: %s", drop[0], msg[0]);
  cr_expect_gt(drop[1], CIM_IR_FAST_DROP_MAX);
  cr_expect(strstr(msg[1], "warning: ir model=fast") && strstr(msg[1], "model=exact"),
            "a warning at drop %g: '%s'", drop[1], msg[1]);
  model_two_free(&t);
}
