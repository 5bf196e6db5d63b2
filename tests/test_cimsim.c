/* Tests of cimsim/: exactness of ideal lossless execution for every strategy, converter and
 * noise statistics against their closed forms (99 % confidence bounds), drift, faults,
 * thread-count independence, encodings and noise-spec validation. */
#include <criterion/criterion.h>

#include "cimsim.h"
#include "half.h"

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

static map_hw hw_small(int m) {
  map_hw hw;
  map_hw_default(&hw);
  hw.rows = hw.cols = m;
  if (hw.cols_per_adc > m) hw.cols_per_adc = m;
  return hw;
}

/* Random model with a padded Monarch, a dense layer and two divisible Monarchs. */
typedef struct {
  map_model mm;
  mon_monarch pad;
  float *w;
} testmodel;

static void model_mixed(testmodel *t) {
  map_model_init(&t->mm, "mixed");
  cr_assert_eq(mon_monarch_create(&t->pad, 100, 90, 4), 0);
  uint64_t sd = 5;
  for (size_t i = 0; i < mon_monarch_w1_len(&t->pad); i++)
    t->pad.w1[i] = (float)(2 * urand(&sd) - 1);
  for (size_t i = 0; i < mon_monarch_w2_len(&t->pad); i++)
    t->pad.w2[i] = (float)(2 * urand(&sd) - 1);
  t->w = malloc(70 * 130 * sizeof(float));
  for (int i = 0; i < 70 * 130; i++) t->w[i] = (float)(2 * urand(&sd) - 1);
  cr_assert_eq(map_model_add(&t->mm, "padded", 0, MAP_FC, 100, 90, 0, 1, NULL, &t->pad, NULL), 0);
  cr_assert_eq(map_model_add(&t->mm, "dense", 1, MAP_PROJ, 70, 130, 0, 1, t->w, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&t->mm, "b48", 2, MAP_FC, 144, 96, 2, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_add(&t->mm, "b120", 3, MAP_ATTN_OUT, 120, 120, 4, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_random_weights(&t->mm, 3), 0);
}

static void model_free(testmodel *t) {
  map_model_destroy(&t->mm);
  mon_monarch_destroy(&t->pad);
  free(t->w);
}

static void float_ref(const map_layer *L, int B, const float *x, float *y) {
  if (L->is_monarch)
    mon_monarch_apply_ref(L->mon, B, x, y);
  else
    mon_dense_apply(L->w, L->out, L->in, B, x, y);
}

/* Ideal devices, lossless converters, 24-bit weights and inputs: the float product to float
 * rounding, for every strategy and two array sizes (tiling, padding, Monarch permutations, and
 * the permutation folded into strided CONVERT outputs). */
Test(cimsim, lossless_equals_float_every_strategy) {
  testmodel t;
  model_mixed(&t);
  int ms[] = {32, 64};
  for (int mi = 0; mi < 4; mi++)
    for (int st = 0; st < MAP_NSTRATEGIES; st++) {
      map_hw hw = hw_small(ms[mi % 2]);
      hw.fold_permute = mi >= 2;
      hw.w_bits = 24, hw.in_bits = 24, hw.cell_bits = 8, hw.dac_bits = 8;
      cim_config cfg;
      cim_config_default(&cfg, &hw);
      cfg.lossless = 1;
      cim_runner *r;
      cr_assert_eq(cim_runner_create(&r, &t.mm, &hw, (map_strategy_id)st, NULL, &cfg), 0, "%s",
                   mon_errmsg());
      for (int l = 0; l < t.mm.nlayers; l++) {
        const map_layer *L = &t.mm.layer[l];
        int B = 5;
        float *x = malloc((size_t)B * L->in * sizeof(float));
        float *y = malloc((size_t)B * L->out * sizeof(float));
        float *ref = malloc((size_t)B * L->out * sizeof(float));
        uint64_t sd = 11 + l;
        for (int i = 0; i < B * L->in; i++) x[i] = (float)(2 * urand(&sd) - 1);
        cr_assert_eq(cim_runner_apply(r, l, 0, B, x, y), 0, "%s", mon_errmsg());
        float_ref(L, B, x, ref);
        double num = 0, den = 0;
        for (int i = 0; i < B * L->out; i++)
          num += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]), den += (double)ref[i] * ref[i];
        cr_expect_lt(sqrt(num / den), 2e-6, "strategy %d m %d fold %d layer %s: rel err %g", st,
                     ms[mi % 2], hw.fold_permute, L->name, sqrt(num / den));
        free(x), free(y), free(ref);
      }
      cim_runner_destroy(r);
    }
  model_free(&t);
}

/* One dense layer with integer weights (max |w| = qmax, so the weight scale is 1). */
static void model_int(map_model *mm, float *w, int out, int in, int qmax, int nonneg,
                      uint64_t seed) {
  map_model_init(mm, "int");
  for (int i = 0; i < out * in; i++) {
    double u = urand(&seed);
    w[i] = nonneg ? (float)floor(u * (qmax + 1)) : (float)(floor(u * (2 * qmax + 1)) - qmax);
  }
  w[0] = (float)qmax;
  cr_assert_eq(map_model_add(mm, "w", 0, MAP_FC, out, in, 0, 1, w, NULL, NULL), 0);
}

/* x integers in [lo, hi] with one element = qmax_in so the input scale is 1. */
static void inputs_int(float *x, int B, int in, int lo, int hi, int qmax_in, uint64_t seed) {
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < in; i++) x[b * in + i] = (float)(lo + floor(urand(&seed) * (hi - lo + 1)));
    x[b * in] = (float)qmax_in;
  }
}

static void exact_int(const float *w, int out, int in, int B, const float *x, double *y) {
  for (int b = 0; b < B; b++)
    for (int o = 0; o < out; o++) {
      double s = 0;
      for (int i = 0; i < in; i++) s += (double)w[o * in + i] * x[b * in + i];
      y[b * out + o] = s;
    }
}

/* Default converters (8-bit weights on 2-bit cells, bit-serial 8-bit two's complement inputs)
 * with lossless ADCs: exact integer arithmetic, both encodings, signed weights and inputs. */
Test(cimsim, lossless_exact_integers_both_encodings) {
  int out = 40, in = 70, B = 16;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float)), *y2 = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 3);
  inputs_int(x, B, in, -127, 127, 127, 4);
  exact_int(w, out, in, B, x, ex);
  for (int enc = 0; enc < 2; enc++) {
    map_hw hw = hw_small(32);
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    cfg.encoding = enc ? CIM_ENC_OFFSET : CIM_ENC_DIFFERENTIAL;
    cfg.lossless = 1;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
    cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, enc ? y2 : y), 0, "%s", mon_errmsg());
    for (int i = 0; i < B * out; i++)
      cr_assert_eq((double)(enc ? y2 : y)[i], ex[i], "encoding %d element %d: %g != %g", enc, i,
                   (double)(enc ? y2 : y)[i], ex[i]);
    cim_runner_destroy(r);
  }
  /* other DAC steps (a signed top digit of 2 or 3 bits) and cell sizes (uneven top slices) */
  int dacs[] = {2, 3, 5}, cells[] = {1, 3, 4};
  for (int v = 0; v < 3; v++) {
    map_hw hw = hw_small(32);
    hw.dac_bits = dacs[v], hw.cell_bits = cells[v];
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    cfg.lossless = 1;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_SPARSE, NULL, &cfg), 0, "%s", mon_errmsg());
    cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
    for (int i = 0; i < B * out; i++)
      cr_assert_eq((double)y[i], ex[i], "dac %d cell %d element %d: %g != %g", dacs[v], cells[v], i,
                   (double)y[i], ex[i]);
    cim_runner_destroy(r);
  }
  /* the converter settings that are lossless by their bits (adc_bits >= lossless) agree too */
  map_hw hw = hw_small(32);
  hw.adc_bits = map_hw_lossless_adc_bits(&hw, 32);
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, NULL), 0);
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0);
  for (int i = 0; i < B * out; i++) cr_assert_eq((double)y[i], ex[i]);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(y2), free(ex);
}

/* 99 % two-sided bound on a sample variance of n draws with variance s2 and 4th moment m4. */
static int var_ok(double v, double s2, double m4, long n, double *z) {
  double sd = sqrt((m4 - s2 * s2) / n);
  *z = (v - s2) / sd;
  return fabs(*z) < 2.576;
}

/* A single offset-encoded slice (7-bit cells, 7-bit weights), one 8-bit DAC step and a coarse
 * 8-bit full-scale ADC: the output error is the ADC's quantization error, uniform on
 * [-LSB/2, LSB/2], variance LSB^2 / 12. */
Test(cimsim, adc_quantization_variance) {
  int out = 64, in = 32, B = 256;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, 63, 0, 7);
  inputs_int(x, B, in, 0, 127, 127, 8);
  exact_int(w, out, in, B, x, ex);
  map_hw hw = hw_small(32);
  hw.differential = 0, hw.w_bits = 7, hw.cell_bits = 7, hw.in_bits = 8, hw.dac_bits = 8;
  hw.adc_bits = 8;
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
  /* full scale of the signed top (only) step: [-128, 127] * 32 rows * 127 levels */
  double lsb = (255.0 * 32 * 127) / 255.0;
  double s = 0, s2 = 0;
  long n = (long)B * out;
  for (long i = 0; i < n; i++) {
    double e = y[i] - ex[i];
    cr_assert_leq(fabs(e), lsb / 2 * (1 + 1e-6), "error %g beyond half an LSB", e);
    s += e, s2 += e * e;
  }
  double v = s2 / n - (s / n) * (s / n), z;
  cr_expect(var_ok(v, lsb * lsb / 12, pow(lsb, 4) / 80, n, &z),
            "ADC error variance %g vs LSB^2/12 = %g (z = %.2f)", v, lsb * lsb / 12, z);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(ex);
}

static double norm_cdf(double z) {
  return 0.5 * erfc(-z / sqrt(2.0));
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Read noise, sampled per output column: the normalised error (y - exact) / sqrt(sum_i x_i^2
 * var_ij + 1/12) has variance 1 (99 % bound) and passes a Kolmogorov-Smirnov test against N(0,1)
 * at the 1 % level. The 1/12 is the lossless ADC's rounding of the noisy sum. */
static void read_noise_case(const char *spec, int prop) {
  int out = 32, in = 32, B = 512;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, 63, 0, 9);
  inputs_int(x, B, in, 0, 127, 127, 10);
  exact_int(w, out, in, B, x, ex);
  map_hw hw = hw_small(32);
  hw.differential = 0, hw.w_bits = 7, hw.cell_bits = 7, hw.in_bits = 8, hw.dac_bits = 8;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.lossless = 1;
  snprintf(cfg.noise, sizeof cfg.noise, "%s", spec);
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_apply(r, 0, 1000, B, x, y), 0, "%s", mon_errmsg());
  double sig = prop ? 0.05 : 0.02;
  long n = (long)B * out;
  double *zs = malloc(n * sizeof(double)), s2 = 0;
  for (int b = 0; b < B; b++)
    for (int o = 0; o < out; o++) {
      double var = 1.0 / 12;
      for (int i = 0; i < in; i++) {
        double d = x[b * in + i], lvl = w[o * in + i] + 64; /* offset encoding level */
        double cell = prop ? sig * lvl : sig * 127;
        var += d * d * cell * cell;
      }
      double z = (y[b * out + o] - ex[b * out + o]) / sqrt(var);
      zs[b * out + o] = z, s2 += z * z;
    }
  double v = s2 / n, zz;
  cr_expect(var_ok(v, 1, 3, n, &zz), "%s: normalised variance %g (z = %.2f)", spec, v, zz);
  qsort(zs, n, sizeof(double), cmpd);
  double D = 0;
  for (long i = 0; i < n; i++) {
    double F = norm_cdf(zs[i]);
    D = fmax(D, fmax(fabs(F - (double)i / n), fabs((double)(i + 1) / n - F)));
  }
  cr_expect_lt(D, 1.628 / sqrt((double)n), "%s: KS statistic %g", spec, D);
  free(zs);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(ex);
}

Test(cimsim, read_noise_gauss_statistics) {
  read_noise_case("read-gauss:sigma=0.02", 0);
}
/* onoff huge: Gmin ~ 0, so the proportional std is sigma * level */
Test(cimsim, read_noise_prop_statistics) {
  read_noise_case("read-prop:sigma=0.05+device:onoff=1e12", 1);
}

static void levels_of(const map_model *mm, const map_hw *hw, const char *spec, float *lv) {
  cim_config cfg;
  cim_config_default(&cfg, hw);
  snprintf(cfg.noise, sizeof cfg.noise, "%s", spec);
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, mm, hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_levels(r, 0, lv), 0);
  cim_runner_destroy(r);
}

/* Drift: g(t) = g0 ((t + t0)/t0)^-nu per device; with nu_std = 0 every level scales by exactly
 * that factor; with nu_std > 0 the fitted exponents have the given mean (99 % bound). */
Test(cimsim, drift_power_law) {
  int out = 64, in = 64;
  float *w = malloc(out * in * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 12);
  map_hw hw = hw_small(64);
  int n = 64 * 64 * map_hw_slices(&hw);
  float *l0 = malloc(n * sizeof(float)), *l1 = malloc(n * sizeof(float));
  levels_of(&mm, &hw, "", l0);
  levels_of(&mm, &hw, "drift:t=86400,nu=0.06,nu_std=0,comp=0+device:onoff=1e12", l1);
  double f = pow((86400.0 + 20) / 20, -0.06);
  int cnt = 0;
  for (int i = 0; i < n; i++)
    if (l0[i] > 0) {
      /* levels are stored in half precision: within 2^-11 relative (half.h) */
      cr_assert_float_eq(l1[i], l0[i] * f, ldexp(l0[i] * f, -11), "device %d: %g vs %g", i, l1[i],
                         l0[i] * f);
      cnt++;
    }
  cr_assert_gt(cnt, 1000);
  levels_of(&mm, &hw, "drift:t=86400,nu=0.06,nu_std=0.01,comp=0+device:onoff=1e12", l1);
  double s = 0, s2 = 0;
  int m = 0;
  for (int i = 0; i < n; i++)
    if (l0[i] > 0) {
      double nu = -log(l1[i] / l0[i]) / log((86400.0 + 20) / 20);
      s += nu, s2 += nu * nu, m++;
    }
  double mean = s / m, sd = sqrt(s2 / m - mean * mean);
  cr_expect_lt(fabs(mean - 0.06), 2.576 * 0.01 / sqrt(m), "mean nu %g", mean);
  cr_expect_lt(fabs(sd - 0.01), 2.576 * 0.01 / sqrt(2.0 * m), "std nu %g", sd);
  free(w), free(l0), free(l1);
  map_model_destroy(&mm);
}

/* Global drift compensation undoes a uniform drift: output = ideal output (ADC rounding aside). */
Test(cimsim, drift_compensation) {
  int out = 32, in = 64, B = 8;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y0 = malloc(B * out * sizeof(float)), *y1 = malloc(B * out * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 13);
  inputs_int(x, B, in, -127, 127, 127, 14);
  map_hw hw = hw_small(64);
  hw.adc_bits = 24; /* 16 bits finer than one level: drifted sums are not integers */
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0);
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y0), 0);
  cim_runner_destroy(r);
  strcpy(cfg.noise, "drift:t=3600,nu=0.05,nu_std=0,comp=1+device:onoff=1e12");
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0);
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y1), 0);
  double num = 0, den = 0;
  for (int i = 0; i < B * out; i++)
    num += ((double)y1[i] - y0[i]) * ((double)y1[i] - y0[i]), den += (double)y0[i] * y0[i];
  /* what compensation leaves: the half-precision storage of each drifted level (half.h) */
  cr_expect_lt(sqrt(num / den), ldexp(1, -11), "compensated rel err %g", sqrt(num / den));
  cim_runner_destroy(r);
  strcpy(cfg.noise, "drift:t=3600,nu=0.05,nu_std=0,comp=0+device:onoff=1e12");
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0);
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y1), 0);
  double ratio = 0;
  for (int i = 0; i < B * out; i++) ratio += (double)y1[i] * y0[i];
  ratio /= den;
  /* every level drifts by this factor and is stored within 2^-11 relative of it (half.h); an
   * exponent off by 1e-4 would move the gain by 5.2e-4 relative */
  double gain = pow(3620.0 / 20, -0.05);
  cr_expect_float_eq(ratio, gain, ldexp(gain, -11), "uncompensated gain %g", ratio);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y0), free(y1);
}

/* Stuck-at faults: among devices whose target is neither Gmin nor Gmax, the fractions at Gmin
 * and at Gmax match the rates within 99 % binomial bounds. */
Test(cimsim, stuck_at_rates) {
  int out = 64, in = 64;
  float *w = malloc(out * in * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 15);
  map_hw hw = hw_small(64);
  int n = 64 * 64 * map_hw_slices(&hw), L = (1 << hw.cell_bits) - 1;
  float *l0 = malloc(n * sizeof(float)), *l1 = malloc(n * sizeof(float));
  levels_of(&mm, &hw, "", l0);
  levels_of(&mm, &hw, "stuck:off=0.1,on=0.05", l1);
  long m = 0, off = 0, on = 0;
  for (int i = 0; i < n; i++)
    if (l0[i] > 0 && l0[i] < L) {
      m++;
      off += fabsf(l1[i]) < 1e-4f;
      on += fabsf(l1[i] - L) < 1e-4f;
    }
  cr_assert_gt(m, 2000);
  double p1 = (double)off / m, p2 = (double)on / m;
  cr_expect_lt(fabs(p1 - 0.1), 2.576 * sqrt(0.1 * 0.9 / m), "stuck-off fraction %g", p1);
  cr_expect_lt(fabs(p2 - 0.05), 2.576 * sqrt(0.05 * 0.95 / m), "stuck-on fraction %g", p2);
  free(w), free(l0), free(l1);
  map_model_destroy(&mm);
}

/* Every random draw is keyed, not sequenced: 1 and 2 threads give bitwise identical outputs. */
Test(cimsim, threads_bitwise_identical) {
  testmodel t;
  model_mixed(&t);
  map_hw hw = hw_small(64);
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  strcpy(cfg.noise, "prog-pcm+read-gauss:sigma=0.02+adc:offset=0.5,gain=0.01+stuck:off=0.01");
  cfg.seed = 77;
  for (int st = 0; st < MAP_NSTRATEGIES; st++) {
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &t.mm, &hw, (map_strategy_id)st, NULL, &cfg), 0, "%s",
                 mon_errmsg());
    for (int l = 0; l < t.mm.nlayers; l++) {
      const map_layer *L = &t.mm.layer[l];
      int B = 37;
      float *x = malloc((size_t)B * L->in * sizeof(float));
      float *y1 = malloc((size_t)B * L->out * sizeof(float));
      float *y2 = malloc((size_t)B * L->out * sizeof(float));
      uint64_t sd = 3 + l;
      for (int i = 0; i < B * L->in; i++) x[i] = (float)(2 * urand(&sd) - 1);
      omp_set_num_threads(1);
      cr_assert_eq(cim_runner_apply(r, l, 5, B, x, y1), 0);
      omp_set_num_threads(2);
      cr_assert_eq(cim_runner_apply(r, l, 5, B, x, y2), 0);
      cr_expect_eq(memcmp(y1, y2, (size_t)B * L->out * sizeof(float)), 0,
                   "strategy %d layer %d differs between 1 and 2 threads", st, l);
      /* batching does not change the draws either: vectors keyed by row0 + i */
      cr_assert_eq(cim_runner_apply(r, l, 5 + 10, B - 10, x + 10 * L->in, y2), 0);
      cr_expect_eq(memcmp(y1 + 10 * L->out, y2, (size_t)(B - 10) * L->out * sizeof(float)), 0,
                   "strategy %d layer %d depends on batching", st, l);
      free(x), free(y1), free(y2);
    }
    cim_runner_destroy(r);
  }
  model_free(&t);
}

/* Differential and offset encodings agree under no noise (full-scale 8-bit ADCs: both exact
 * here because the lossless bits are reached), and their outputs with finite ADCs stay close. */
Test(cimsim, encodings_agree_without_noise) {
  testmodel t;
  model_mixed(&t);
  map_hw hw = hw_small(32);
  for (int l = 0; l < t.mm.nlayers; l++) {
    const map_layer *L = &t.mm.layer[l];
    int B = 6;
    float *x = malloc((size_t)B * L->in * sizeof(float));
    float *y[2];
    uint64_t sd = 21 + l;
    for (int i = 0; i < B * L->in; i++) x[i] = (float)(2 * urand(&sd) - 1);
    for (int e = 0; e < 2; e++) {
      cim_config cfg;
      cim_config_default(&cfg, &hw);
      cfg.encoding = e ? CIM_ENC_OFFSET : CIM_ENC_DIFFERENTIAL;
      cfg.lossless = 1;
      cim_runner *r;
      cr_assert_eq(cim_runner_create(&r, &t.mm, &hw, MAP_SPARSE, NULL, &cfg), 0, "%s",
                   mon_errmsg());
      y[e] = malloc((size_t)B * L->out * sizeof(float));
      cr_assert_eq(cim_runner_apply(r, l, 0, B, x, y[e]), 0);
      cim_runner_destroy(r);
    }
    for (int i = 0; i < B * L->out; i++)
      cr_expect_float_eq(y[0][i], y[1][i], 1e-5 * (1 + fabsf(y[0][i])), "layer %d elt %d", l, i);
    free(x), free(y[0]), free(y[1]);
  }
  model_free(&t);
}

/* Calibrated ADC ranges beat full scale at low resolution (the point of calibration). */
Test(cimsim, calibrated_range_beats_full_scale) {
  testmodel t;
  model_mixed(&t);
  map_hw hw = hw_small(64);
  hw.adc_bits = 4;
  const map_layer *L = &t.mm.layer[1];
  int B = 64;
  float *x = malloc((size_t)B * L->in * sizeof(float)), *y = malloc((size_t)B * L->out * 4);
  float *ref = malloc((size_t)B * L->out * 4);
  uint64_t sd = 31;
  for (int i = 0; i < B * L->in; i++) x[i] = (float)(2 * urand(&sd) - 1);
  float_ref(L, B, x, ref);
  double err[2];
  for (int c = 0; c < 2; c++) {
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    cfg.adc_range = c ? CIM_ADC_CALIBRATED : CIM_ADC_FULLSCALE;
    cfg.adc_percentile = 99.9;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &t.mm, &hw, MAP_LINEAR, NULL, &cfg), 0);
    if (c) cr_assert_eq(cim_runner_calibrate(r, 1, B, x), 0, "%s", mon_errmsg());
    cr_assert_eq(cim_runner_apply(r, 1, 0, B, x, y), 0);
    double num = 0, den = 0;
    for (int i = 0; i < B * L->out; i++)
      num += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]), den += (double)ref[i] * ref[i];
    err[c] = sqrt(num / den);
    cim_runner_destroy(r);
  }
  cr_expect_lt(err[1], err[0] / 2, "calibrated %g vs full scale %g", err[1], err[0]);
  free(x), free(y), free(ref);
  model_free(&t);
}

Test(cimsim, noise_specs_validated) {
  cr_expect_eq(cim_noise_check(""), 0);
  cr_expect_eq(cim_noise_check("prog-pcm+read-gauss:sigma=0.02"), 0, "%s", mon_errmsg());
  cr_expect_eq(cim_noise_check("drift:t=1e6,nu=0.05,nu_std=0.01,comp=0+stuck:off=0.01,on=0.001"), 0,
               "%s", mon_errmsg());
  cr_expect_neq(cim_noise_check("read-gaus"), 0);
  cr_expect(strstr(mon_errmsg(), "unknown model 'read-gaus'") != NULL, "%s", mon_errmsg());
  cr_expect_neq(cim_noise_check("read-gauss:sgima=0.1"), 0);
  cr_expect(strstr(mon_errmsg(), "unknown key 'sgima'") && strstr(mon_errmsg(), "sigma"), "%s",
            mon_errmsg());
  cr_expect_neq(cim_noise_check("read-gauss:sigma=abc"), 0);
  cr_expect(strstr(mon_errmsg(), "key 'sigma'") != NULL, "%s", mon_errmsg());
  cr_expect_neq(cim_noise_check("stuck:off=1.5"), 0);
  cr_expect(strstr(mon_errmsg(), "key 'off'") && strstr(mon_errmsg(), "[0, 1]"), "%s",
            mon_errmsg());
  cr_expect_neq(cim_noise_check("drift:comp=2"), 0);
  cr_expect(strstr(mon_errmsg(), "'comp'") != NULL, "%s", mon_errmsg());
  cr_expect_neq(cim_noise_check("read-gauss+read-gauss"), 0);
  cr_expect_neq(cim_noise_check("read-gauss:sigma"), 0);
  cr_expect(strstr(mon_errmsg(), "key=value") != NULL, "%s", mon_errmsg());
}

/* Philox-4x32-10 known-answer vector of Random123 (kat_vectors: counter 0, key 0). */
Test(cimsim, philox_known_answer) {
  uint32_t c[4] = {0, 0, 0, 0}, k[2] = {0, 0}, o[4];
  cim_philox4x32(c, k, o);
  cr_expect_eq(o[0], 0x6627e8d5u, "%08x", o[0]);
  cr_expect_eq(o[1], 0xe169c58du, "%08x", o[1]);
  cr_expect_eq(o[2], 0xbc57ac4cu, "%08x", o[2]);
  cr_expect_eq(o[3], 0x9b00dbd8u, "%08x", o[3]);
}

/* The model adapter and the hook on a hand-built one-block model (dense qkv and proj, Monarch
 * attn_out and fc): lossless 24-bit settings reproduce the float products, the per-layer error
 * the hook accumulates is ~0, and shapes that do not match are refused. */
Test(cimsim, hook_on_hand_built_model) {
  int d = 32, ff = 64;
  mon_model m;
  memset(&m, 0, sizeof m);
  m.cfg.n_layer = 1, m.cfg.n_embd = d, m.cfg.n_inner = ff, m.cfg.n_positions = 16;
  mon_linear lin[MON_LIN_KINDS];
  memset(lin, 0, sizeof lin);
  int shp[4][2] = {{3 * d, d}, {d, d}, {ff, d}, {d, ff}};
  uint64_t sd = 41;
  for (int k = 0; k < MON_LIN_KINDS; k++) {
    lin[k].out = shp[k][0], lin[k].in = shp[k][1];
    lin[k].is_monarch = k == 1 || k == 2;
    if (lin[k].is_monarch) {
      cr_assert_eq(mon_monarch_create(&lin[k].m, lin[k].out, lin[k].in, 4), 0);
      for (size_t i = 0; i < mon_monarch_w1_len(&lin[k].m); i++)
        lin[k].m.w1[i] = (float)(2 * urand(&sd) - 1);
      for (size_t i = 0; i < mon_monarch_w2_len(&lin[k].m); i++)
        lin[k].m.w2[i] = (float)(2 * urand(&sd) - 1);
    } else {
      lin[k].w = malloc((size_t)lin[k].out * lin[k].in * sizeof(float));
      for (int i = 0; i < lin[k].out * lin[k].in; i++) lin[k].w[i] = (float)(2 * urand(&sd) - 1);
    }
  }
  m.lin = lin;
  map_model mm;
  cr_assert_eq(cim_model_from_mon(&mm, &m, 16), 0, "%s", mon_errmsg());
  cr_assert_eq(mm.nlayers, 4);
  map_hw hw = hw_small(32);
  hw.w_bits = 24, hw.in_bits = 24, hw.cell_bits = 8, hw.dac_bits = 8;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.lossless = 1;
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_DENSE, NULL, &cfg), 0, "%s", mon_errmsg());
  for (int k = 0; k < MON_LIN_KINDS; k++) {
    int B = 4;
    float *x = malloc((size_t)B * lin[k].in * sizeof(float));
    float *y = malloc((size_t)B * lin[k].out * sizeof(float));
    for (int i = 0; i < B * lin[k].in; i++) x[i] = (float)(2 * urand(&sd) - 1);
    cr_assert_eq(cim_linear_hook(r, 0, (mon_lin_kind)k, &lin[k], 100, B, x, y), 0, "%s",
                 mon_errmsg());
    cr_expect_lt(cim_runner_layer_err(r, k), 2e-6, "kind %d: %g", k, cim_runner_layer_err(r, k));
    free(x), free(y);
  }
  float dummy[64 * 4] = {0}, out[96 * 4];
  cr_expect_neq(cim_linear_hook(r, 0, MON_LIN_QKV, &lin[2], 0, 1, dummy, out), 0);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  for (int k = 0; k < MON_LIN_KINDS; k++) {
    if (lin[k].is_monarch)
      mon_monarch_destroy(&lin[k].m);
    else
      free(lin[k].w);
  }
}

/* Programming noise on the levels: additive Gaussian has std sigma L levels everywhere; the PCM
 * model has std sigma_p(G_T) / dG with aihwkit's polynomial (99 % bounds on the variance per
 * target level). */
Test(cimsim, programming_noise_statistics) {
  int out = 64, in = 64;
  float *w = malloc(out * in * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 17);
  map_hw hw = hw_small(64);
  int n = 64 * 64 * map_hw_slices(&hw), L = (1 << hw.cell_bits) - 1;
  float *l0 = malloc(n * sizeof(float)), *l1 = malloc(n * sizeof(float));
  levels_of(&mm, &hw, "", l0);
  for (int pass = 0; pass < 2; pass++) {
    levels_of(&mm, &hw, pass ? "prog-pcm+device:onoff=1e12" : "prog-gauss:sigma=0.05", l1);
    for (int lt = 1; lt <= L; lt++) {
      double s2 = 0;
      long m = 0;
      for (int i = 0; i < n; i++)
        if (l0[i] == lt) s2 += (l1[i] - lt) * (double)(l1[i] - lt), m++;
      cr_assert_gt(m, 200, "level %d: %ld devices", lt, m);
      double sd;
      if (!pass) {
        sd = 0.05 * L;
      } else { /* G_T = lt dG, dG = 25 / L uS (Gmin ~ 0) */
        double x = (double)lt / L;
        sd = (0.26348 + 1.9650 * x - 1.1731 * x * x) / (25.0 / L);
      }
      double v = s2 / m, z;
      cr_expect(var_ok(v, sd * sd, 3 * pow(sd, 4), m, &z), "%s level %d: var %g vs %g (z %.2f)",
                pass ? "prog-pcm" : "prog-gauss", lt, v, sd * sd, z);
    }
  }
  free(w), free(l0), free(l1);
  map_model_destroy(&mm);
}

/* `moncim mvm` end to end: files in, simulated repeats and the float reference out. */
Test(cimsim, mvm_command_files) {
  char dir[] = "/tmp/test_cimsim_mvmXXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char wp[256], xp[256], yp[256], cmd[2048];
  snprintf(wp, sizeof wp, "%s/w.safetensors", dir);
  snprintf(xp, sizeof xp, "%s/x.safetensors", dir);
  snprintf(yp, sizeof yp, "%s/y.safetensors", dir);
  int out = 24, in = 40, N = 6, K = 3;
  float w[24 * 40], x[6 * 40], ref[6 * 24];
  uint64_t sd = 51;
  for (int i = 0; i < out * in; i++) w[i] = (float)(2 * urand(&sd) - 1);
  for (int i = 0; i < N * in; i++) x[i] = (float)(2 * urand(&sd) - 1);
  mon_dense_apply(w, out, in, N, x, ref);
  int64_t ws[2] = {out, in}, xs[2] = {N, in};
  mon_st_writer *sw = mon_st_writer_create();
  cr_assert_eq(mon_st_writer_add(sw, "m", 2, ws, w), 0);
  cr_assert_eq(mon_st_writer_write(sw, wp), 0, "%s", mon_errmsg());
  mon_st_writer_destroy(sw);
  sw = mon_st_writer_create();
  cr_assert_eq(mon_st_writer_add(sw, "x", 2, xs, x), 0);
  cr_assert_eq(mon_st_writer_write(sw, xp), 0);
  mon_st_writer_destroy(sw);
  for (int noisy = 0; noisy < 2; noisy++) {
    snprintf(cmd, sizeof cmd,
             "%s mvm --weights %s --tensor m --inputs %s --mapping dense --array-size 16 "
             "--w-bits 16 --in-bits 16 %s --repeat %d --out %s > /dev/null 2>&1",
             MONCIM_BIN, wp, xp,
             noisy ? "--noise read-gauss:sigma=0.01" : "--lossless --noise none", K, yp);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    mon_safetensors st;
    cr_assert_eq(mon_st_open(&st, yp), 0, "%s", mon_errmsg());
    float *y, *yr;
    int64_t shy[3] = {K, N, out}, shr[2] = {N, out};
    cr_assert_eq(mon_st_read_f32(&st, "y", 3, shy, &y), 0, "%s", mon_errmsg());
    cr_assert_eq(mon_st_read_f32(&st, "y_ref", 2, shr, &yr), 0, "%s", mon_errmsg());
    cr_expect_eq(memcmp(yr, ref, sizeof ref), 0, "y_ref is not the float product");
    double num = 0, den = 0, diff = 0;
    for (int k = 0; k < K; k++)
      for (int i = 0; i < N * out; i++) {
        double d = y[k * N * out + i] - ref[i];
        num += d * d, den += (double)ref[i] * ref[i];
        diff += fabs(y[k * N * out + i] - y[i]);
      }
    if (!noisy) {
      cr_expect_lt(sqrt(num / den), 1e-4, "lossless 16-bit rel err %g", sqrt(num / den));
      cr_expect_eq(diff, 0, "repeats differ without noise");
    } else {
      cr_expect_gt(diff, 0, "repeats identical with read noise");
    }
    free(y), free(yr);
    mon_st_close(&st);
  }
  remove(wp), remove(xp), remove(yp), rmdir(dir);
}

/* ---------------------------------------------------------------- periphery conventions */

/* The ADC after the analog G+ - G- subtraction (one 7-bit slice pair, one signed 8-bit DAC step,
 * a coarse 8-bit ADC): the signed sum's full scale is +-rows * 128 * 127, the symmetric
 * mid-tread LSB is that / (2^7 - 1), and the error is uniform on [-LSB/2, LSB/2] with mean 0
 * and variance LSB^2 / 12 (99 % bounds). */
Test(cimsim, signed_adc_quantization_variance) {
  int out = 64, in = 32, B = 256;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 17);
  inputs_int(x, B, in, -127, 127, 127, 18);
  exact_int(w, out, in, B, x, ex);
  map_hw hw = hw_small(32);
  hw.w_bits = 8, hw.cell_bits = 7, hw.in_bits = 8, hw.dac_bits = 8, hw.adc_bits = 8;
  hw.adc_per_pair = 1;
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
  double lsb = 32.0 * 128 * 127 / 127;
  double s = 0, s2 = 0;
  long n = (long)B * out;
  for (long i = 0; i < n; i++) {
    double e = y[i] - ex[i];
    cr_assert_leq(fabs(e), lsb / 2 * (1 + 1e-6), "error %g beyond half an LSB (%g)", e, lsb);
    s += e, s2 += e * e;
  }
  double mean = s / n, v = s2 / n - mean * mean, z;
  cr_expect_lt(fabs(mean) / sqrt(lsb * lsb / 12 / n), 2.576, "mean error %g", mean);
  cr_expect(var_ok(v, lsb * lsb / 12, pow(lsb, 4) / 80, n, &z),
            "signed ADC error variance %g vs LSB^2/12 = %g (z = %.2f)", v, lsb * lsb / 12, z);
  /* and a sum of 0 converts to exactly 0 (a code sits at zero) */
  for (int i = 0; i < in; i++) x[i] = 0;
  x[0] = 127, x[1] = -127;
  for (int o = 0; o < out; o++) w[o * in] = w[o * in + 1] = 5;
  cr_assert_eq(cim_runner_apply(r, 0, 0, 1, x, y), 0);
  cim_runner_destroy(r);
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, NULL), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_apply(r, 0, 0, 1, x, y), 0);
  exact_int(w, out, in, 1, x, ex);
  for (int o = 0; o < out; o++)
    if (ex[o] == 0) cr_assert_eq(y[o], 0.0f, "output %d: exact 0 converted to %g", o, y[o]);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(ex);
}

/* Read noise under sign-magnitude bit-serial drive: step k drives digits d_ik in {-1, 0, 1}, so
 * the output error is sum_k 2^k (n_k + u_k) with n_k ~ N(0, sum_i |d_ik| var_i) and u_k the
 * lossless ADC's rounding (variance 1/12): the normalised error has variance 1 (99 % bound) and
 * passes a KS test. Per device column (offset encoding) and after the analog subtraction (a pair:
 * both devices' noise). Two's complement on the same inputs is checked against its own closed
 * form, and sign-magnitude must come out below it (negative inputs drive few 1-bits). */
static double signmag_noise_case(int pair, int signmag) {
  int out = 32, in = 32, B = 512;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, pair ? 127 : 63, 0, 19); /* weight scale 1 */
  inputs_int(x, B, in, -127, 40, 127, 20);            /* mostly negative */
  exact_int(w, out, in, B, x, ex);
  map_hw hw = hw_small(32);
  hw.differential = pair, hw.adc_per_pair = pair, hw.in_sign_magnitude = signmag;
  hw.w_bits = 7, hw.cell_bits = 7, hw.in_bits = 8, hw.dac_bits = 1;
  if (pair) hw.w_bits = 8; /* 7 magnitude bits: one slice pair */
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.lossless = 1;
  snprintf(cfg.noise, sizeof cfg.noise, "read-gauss:sigma=0.02");
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_apply(r, 0, 77, B, x, y), 0, "%s", mon_errmsg());
  double cell = 0.02 * 127, sum_var = 0;
  int steps = map_hw_dac_steps(&hw);
  long n = (long)B * out;
  double *zs = malloc(n * sizeof(double)), s2 = 0;
  for (int b = 0; b < B; b++)
    for (int o = 0; o < out; o++) {
      double var = 0;
      for (int k = 0; k < steps; k++) {
        double vk = 1.0 / 12;
        for (int i = 0; i < in; i++) {
          int q = (int)x[b * in + i], d;
          if (signmag)
            d = ((q < 0 ? -q : q) >> k) & 1;
          else
            d = (((unsigned)q & 255u) >> k) & 1; /* |digit| of the two's complement bit */
          vk += d * cell * cell * (pair ? 2 : 1);
        }
        var += ldexp(1.0, 2 * k) * vk;
      }
      sum_var += var;
      double z = (y[b * out + o] - ex[b * out + o]) / sqrt(var);
      zs[b * out + o] = z, s2 += z * z;
    }
  double v = s2 / n, zz;
  cr_expect(var_ok(v, 1, 3, n, &zz), "pair %d signmag %d: normalised variance %g (z = %.2f)", pair,
            signmag, v, zz);
  qsort(zs, n, sizeof(double), cmpd);
  double D = 0;
  for (long i = 0; i < n; i++) {
    double F = norm_cdf(zs[i]);
    D = fmax(D, fmax(fabs(F - (double)i / n), fabs((double)(i + 1) / n - F)));
  }
  cr_expect_lt(D, 1.628 / sqrt((double)n), "pair %d signmag %d: KS statistic %g", pair, signmag, D);
  free(zs);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(ex);
  return sum_var / n;
}

Test(cimsim, read_noise_signmag_statistics) {
  for (int pair = 0; pair < 2; pair++) {
    double vs = signmag_noise_case(pair, 1), vt = signmag_noise_case(pair, 0);
    cr_expect_lt(vs, 0.75 * vt, "pair %d: sign-magnitude noise variance %g vs two's complement %g",
                 pair, vs, vt);
  }
}

/* in_bits 26..31: qmax_in = 2^(in_bits-1) - 1 is not a float; the input of largest magnitude
 * must keep its sign (lossless, integer weights: the float product to float rounding). */
Test(cimsim, wide_inputs_keep_sign) {
  int out = 8, in = 32, B = 4;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  double *ex = malloc(B * out * sizeof(double));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 21);
  uint64_t sd = 22;
  for (int i = 0; i < B * in; i++) x[i] = (float)(2 * urand(&sd) - 1);
  for (int b = 0; b < B; b++) x[b * in + 3] = b % 2 ? 1.5f : -1.5f; /* the max, both signs */
  exact_int(w, out, in, B, x, ex);
  for (int bits = 24; bits <= 31; bits++) {
    map_hw hw = hw_small(32);
    hw.in_bits = bits, hw.dac_bits = 8;
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    cfg.lossless = 1;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
    cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
    for (int i = 0; i < B * out; i++)
      cr_assert_leq(fabs(y[i] - ex[i]), 1e-5 * (fabs(ex[i]) + 1), "in_bits %d element %d: %g != %g",
                    bits, i, (double)y[i], ex[i]);
    cim_runner_destroy(r);
  }
  map_model_destroy(&mm);
  free(w), free(x), free(y), free(ex);
}

/* --lossless with conversions beyond 2^23 (24-bit weights and inputs, 8-bit cells and DACs,
 * 256-row columns: 24 lossless bits, 25 after the analog subtraction): every conversion exact,
 * so y is the exact integer product rounded once to float. */
Test(cimsim, lossless_beyond_2_23_exact) {
  int out = 16, in = 256, B = 8, qm = (1 << 23) - 1;
  float *w = malloc(out * in * sizeof(float)), *x = malloc(B * in * sizeof(float));
  float *y = malloc(B * out * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, qm, 0, 23);
  inputs_int(x, B, in, -qm, qm, qm, 24);
  for (int pair = 0; pair < 2; pair++) {
    map_hw hw = hw_small(256);
    hw.w_bits = hw.in_bits = 24, hw.cell_bits = hw.dac_bits = 8, hw.adc_per_pair = pair;
    cr_assert_eq(map_hw_lossless_adc_bits(&hw, 256), 24 + pair);
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    cfg.lossless = 1;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
    cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
    for (int b = 0; b < B; b++)
      for (int o = 0; o < out; o++) {
        __int128 e = 0;
        for (int i = 0; i < in; i++) e += (__int128)(int64_t)w[o * in + i] * (int64_t)x[b * in + i];
        double ed = (double)e;
        /* one float rounding of the result (plus the double shift-add's few units) */
        cr_assert_leq(fabs((double)y[b * out + o] - ed), ldexp(fabs(ed), -24) + 64.0,
                      "pair %d vector %d output %d: %.17g vs exact %.17g", pair, b, o,
                      (double)y[b * out + o], ed);
      }
    cim_runner_destroy(r);
  }
  map_model_destroy(&mm);
  free(w), free(x), free(y);
}

/* The cost of the conventions: one conversion per pair (half), one ADC per cols_per_adc pairs
 * (half the ADCs); sign-magnitude takes in_bits - 1 DAC steps; a bipolar line needs one more
 * lossless bit. */
Test(cimsim, periphery_cost_counts) {
  map_model mm;
  map_model_init(&mm, "c");
  cr_assert_eq(map_model_add(&mm, "w", 0, MAP_FC, 200, 300, 0, 1, NULL, NULL, NULL), 0);
  cr_assert_eq(map_model_random_weights(&mm, 1), 0);
  map_cost c[3];
  for (int v = 0; v < 3; v++) {
    map_hw hw;
    map_hw_default(&hw);
    hw.adc_per_pair = v == 1, hw.in_sign_magnitude = v == 2;
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, NULL), 0, "%s", mon_errmsg());
    cr_assert_eq(
        map_cost_compute(&c[v], NULL, cim_runner_stream(r), cim_runner_mapping(r), &mm, &hw), 0,
        "%s", mon_errmsg());
    cim_runner_destroy(r);
  }
  cr_expect_eq(c[0].conversions, 2 * c[1].conversions, "%lld vs %lld per pair",
               (long long)c[0].conversions, (long long)c[1].conversions);
  cr_expect_eq(c[0].adcs, 2 * c[1].adcs);
  cr_expect_eq(c[0].conversions * 7, c[2].conversions * 8, "sign-magnitude: 7 of 8 steps");
  map_hw hw;
  map_hw_default(&hw);
  int lb = map_hw_lossless_adc_bits(&hw, 256);
  hw.adc_per_pair = 1;
  cr_expect_eq(map_hw_lossless_adc_bits(&hw, 256), lb + 1);
  hw.differential = 0;
  cr_expect_neq(map_hw_validate(&hw, "hw"), 0, "adc_per_pair without a pair must be rejected");
  cr_expect(strstr(mon_errmsg(), "adc_per_pair"), "%s", mon_errmsg());
  map_model_destroy(&mm);
}

/* Static input range: applying before calibration fails naming the cause; after calibration on
 * a batch with max |x| = 1, inputs beyond 1 are clipped and counted, the others quantized with
 * the static scale 1 / qmax (lossless: exact on the unclipped part). */
Test(cimsim, static_input_range_clips_and_counts) {
  int out = 8, in = 16, B = 4;
  float *w = malloc(out * in * sizeof(float)), x[4 * 16], y[4 * 8];
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 25);
  map_hw hw = hw_small(32);
  hw.in_range_static = 1;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.lossless = 1;
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert(cim_runner_needs_calibration(r));
  cr_assert_neq(cim_runner_apply(r, 0, 0, 1, x, y), 0);
  cr_assert(strstr(mon_errmsg(), "not calibrated"), "%s", mon_errmsg());
  for (int i = 0; i < in; i++) x[i] = (float)(i - 8) / 8; /* max |x| = 1 */
  cr_assert_eq(cim_runner_calibrate(r, 0, 1, x), 0, "%s", mon_errmsg());
  for (int b = 0; b < B; b++)
    for (int i = 0; i < in; i++) x[b * in + i] = (float)(i * (b + 1)) / 40; /* up to 1.5 */
  cr_assert_eq(cim_runner_apply(r, 0, 0, B, x, y), 0, "%s", mon_errmsg());
  int64_t clipped, seen, want = 0;
  cr_assert_eq(cim_runner_input_clip(r, 0, &clipped, &seen), 0);
  for (int i = 0; i < B * in; i++) want += x[i] > 1.0f;
  cr_expect_eq(seen, (int64_t)B * in);
  cr_expect_eq(clipped, want, "clipped %lld, expected %lld", (long long)clipped, (long long)want);
  cr_expect_gt(want, 0);
  for (int b = 0; b < B; b++)
    for (int o = 0; o < out; o++) {
      double e = 0;
      for (int i = 0; i < in; i++)
        e += w[o * in + i] * fmin(nearbyint(x[b * in + i] * 127.0), 127) / 127.0;
      cr_expect_leq(fabs(y[b * out + o] - e), 1e-5 * (fabs(e) + 1), "%g vs %g", y[b * out + o], e);
    }
  cim_runner_reset_stats(r);
  cr_assert_eq(cim_runner_input_clip(r, 0, &clipped, &seen), 0);
  cr_expect_eq(clipped + seen, 0);
  cim_runner_destroy(r);
  map_model_destroy(&mm);
  free(w);
}

/* Held-out calibration: the calibration text is the end of the evaluation split and never
 * overlaps the bytes the evaluation reads (else a clear error); calibrating the zoo model on it
 * calibrates every layer (ADC ranges and static input ranges), leaves no error or clip counts
 * behind, and differs from calibrating on the evaluation's first batch (other data). */
Test(cimsim, heldout_calibration_disjoint) {
  uint8_t *train = NULL, *eval = NULL;
  size_t ntrain = 0, neval = 0;
  cr_assert_eq(mon_kjv_text(&train, &ntrain, &eval, &neval), 0, "%s", mon_errmsg());
  const uint8_t *ct;
  size_t nct;
  cr_assert_eq(cim_heldout_text(eval, neval, 128, 4096, 1000, &ct, &nct), 0, "%s", mon_errmsg());
  cr_expect_eq(nct, (size_t)(8 * 128 + 1));
  cr_expect(ct + nct == eval + neval && ct >= eval + 32 * 128 + 1, "calibration overlaps");
  cr_expect_neq(cim_heldout_text(eval, neval, 128, (int64_t)neval - 100, 1000, &ct, &nct), 0);
  cr_expect(strstr(mon_errmsg(), "calibration"), "%s", mon_errmsg());
  cr_assert_eq(cim_heldout_text(eval, neval, 128, 128, 128, &ct, &nct), 0);
  mon_model m;
  cr_assert_eq(mon_model_load(&m, MONCIM_SOURCE_DIR "/models/kjv-nb16"), 0, "%s", mon_errmsg());
  map_model mm;
  cr_assert_eq(cim_model_from_mon(&mm, &m, m.cfg.n_positions), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw);
  hw.adc_bits = 5, hw.in_range_static = 1;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.adc_range = CIM_ADC_CALIBRATED;
  cim_runner *a, *b;
  cr_assert_eq(cim_runner_create(&a, &mm, &hw, MAP_SPARSE, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_runner_create(&b, &mm, &hw, MAP_SPARSE, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_assert_eq(cim_calibrate_model(a, &m, ct, nct, 128), 0, "%s", mon_errmsg());
  for (int l = 0; l < mm.nlayers; l++) {
    cr_expect(cim_runner_is_calibrated(a, l), "layer %d not calibrated", l);
    int64_t c, n;
    cr_assert_eq(cim_runner_input_clip(a, l, &c, &n), 0);
    cr_expect_eq(c + n, 0, "layer %d: counts left from the calibration pass", l);
    cr_expect_eq(cim_runner_layer_err(a, l), 0.0);
  }
  /* the same first batch of the evaluation text through both: b calibrates on it, a does not */
  mon_eval_opts o = {.positions = 128, .hook = cim_linear_hook, .hook_ctx = a};
  mon_eval_result ra, rb;
  cr_assert_eq(mon_model_eval(&m, eval, neval, &o, &ra), 0, "%s", mon_errmsg());
  o.hook_ctx = b;
  cr_assert_eq(mon_model_eval(&m, eval, neval, &o, &rb), 0, "%s", mon_errmsg());
  cr_expect_neq(ra.bpc, rb.bpc, "held-out and first-batch calibration gave the same result");
  cr_expect_gt(cim_runner_input_clip_frac(a), 0.0, "evaluation inputs beyond the held-out range");
  cr_expect_eq(cim_runner_input_clip_frac(b), 0.0, "calibrated on its own data, max: no clip");
  cim_runner_destroy(a), cim_runner_destroy(b);
  map_model_destroy(&mm);
  mon_model_destroy(&m);
  free(train), free(eval);
}

/* cimsim runs layer by layer: a mapping whose MVMs feed several layers (shared row bands) is
 * refused with a message naming the option, never simulated wrongly. */
Test(cimsim, shared_row_bands_refused) {
  map_model mm;
  cr_assert_eq(map_model_transformer(&mm, "qkv", 1, 64, 256, 1, 4, 0, 0), 0, "%s", mon_errmsg());
  cr_assert_eq(map_model_random_weights(&mm, 3), 0);
  map_hw hw = hw_small(64);
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  map_options o = {.share_rows = 1};
  cim_runner *r = NULL;
  cr_expect_neq(cim_runner_create(&r, &mm, &hw, MAP_DENSE, &o, &cfg), 0);
  cr_expect(strstr(mon_errmsg(), "share_rows"), "%s", mon_errmsg());
  o.share_rows = 0;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_DENSE, &o, &cfg), 0, "%s", mon_errmsg());
  cim_runner_destroy(r);
  map_model_destroy(&mm);
}

/* ---------------------------------------------------------------- programmed state (half.h) */

/* The value of binary16 h from its definition (sign, 5-bit exponent with bias 15, 10-bit
 * fraction), in double. */
static double half_value(uint32_t h) {
  int e = (int)(h >> 10) & 31, m = (int)h & 1023;
  double v = e == 31 ? (m ? NAN : INFINITY) : e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
  return (h & 0x8000u) ? -v : v;
}

/* Every one of the 65536 halves: decoding is exact (signed zeros and NaNs included), the bulk
 * conversion (F16C where present) agrees bit for bit, and encoding a decoded value returns it. */
Test(half, every_value_exact_and_round_trips) {
  uint16_t *h = malloc(65536 * sizeof *h);
  float *f = malloc(65536 * sizeof *f);
  for (uint32_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  cim_h2f_n(h, f, 65536);
  for (uint32_t i = 0; i < 65536; i++) {
    float v = cim_h2f(h[i]);
    double r = half_value(i);
    if (isnan(r)) { /* F16C quietens signalling NaNs: only NaN-ness is kept */
      cr_assert(isnan(v) && isnan(f[i]), "0x%04x should be NaN", i);
      continue;
    }
    cr_assert_eq(cim_f32_bits(f[i]), cim_f32_bits(v), "bulk vs scalar at 0x%04x", i);
    cr_assert(v == r && !signbit(v) == !signbit(r), "0x%04x: %.9g, expected %.9g", i, v, r);
    cr_assert_eq(cim_f2h(v), i, "0x%04x does not round-trip", i);
  }
  free(h), free(f);
}

/* Encoding is round to nearest, ties to even: each midpoint between neighbouring finite halves
 * (exact in float) goes to the even one, points just off it to the nearer one, and random floats
 * of every exponent land on a nearest half. */
Test(half, nearest_ties_to_even) {
  for (uint32_t h = 0; h < 0x7bff; h++) {
    double a = half_value(h), b = half_value(h + 1), mid = (a + b) / 2;
    float m = (float)mid;
    cr_assert_eq((double)m, mid);
    uint32_t even = (h & 1) ? h + 1 : h;
    cr_assert_eq(cim_f2h(m), even, "midpoint of 0x%04x and 0x%04x", h, h + 1);
    cr_assert_eq(cim_f2h(-m), even | 0x8000u);
    cr_assert_eq(cim_f2h(nextafterf(m, 0)), h);
    cr_assert_eq(cim_f2h(nextafterf(m, INFINITY)), h + 1);
  }
  /* past the largest finite half (65504) by half an ulp or more: infinity */
  cr_assert_eq(cim_f2h(65519.99f), 0x7bffu);
  cr_assert_eq(cim_f2h(65520.0f), 0x7c00u);
  cr_assert_eq(cim_f2h(-1e30f), 0xfc00u);
  cr_assert(isnan(cim_h2f(cim_f2h(NAN))));
  uint64_t st = 99;
  int n = 1000000;
  float *xs = malloc(n * sizeof *xs);
  uint16_t *hs = malloc(n * sizeof *hs);
  for (int i = 0; i < n; i++) {
    float x = (float)ldexp(2 * urand(&st) - 1, (int)(urand(&st) * 44) - 28);
    if (i % 7 == 0) /* exact midpoints too, for the bulk path */
      x = (float)((half_value(i % 0x7bff) + half_value(i % 0x7bff + 1)) / 2);
    xs[i] = x;
    uint32_t h = cim_f2h(x) & 0x7fffu;
    double d = fabs(fabs((double)x) - half_value(h));
    if (h > 0) cr_assert_leq(d, fabs(fabs((double)x) - half_value(h - 1)), "%.9g", x);
    if (h < 0x7bff) cr_assert_leq(d, fabs(fabs((double)x) - half_value(h + 1)), "%.9g", x);
  }
  /* the bulk encoder (F16C where present) gives the scalar's bits */
  cim_f2h_n(xs, hs, (size_t)n);
  for (int i = 0; i < n; i++) cr_assert_eq(hs[i], cim_f2h(xs[i]), "%.9g", xs[i]);
  free(xs), free(hs);
}

/* The programmed state takes 2 bytes per converted line of each programmed weight (4 with IR
 * drop): 8-bit weights
 * on 2-bit cells, differential, are 4 slices x 2 devices = 16 bytes per weight on Linear (every
 * weight of a 64 x 64 layer programmed once), and 8 with the ADC after the subtraction. */
Test(half, state_bytes_per_weight) {
  int out = 64, in = 64;
  float *w = malloc(out * in * sizeof(float));
  map_model mm;
  model_int(&mm, w, out, in, 127, 0, 21);
  for (int pair = 0; pair < 2; pair++) {
    map_hw hw = hw_small(64);
    hw.adc_per_pair = pair;
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    snprintf(cfg.noise, sizeof cfg.noise, "prog-pcm");
    cim_runner *r;
    cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
    size_t lines = (size_t)map_hw_slices(&hw) / (pair ? 2 : 1);
    cr_expect_eq(cim_runner_state_bytes(r), (size_t)out * in * lines * 2, "pair %d: %zu bytes",
                 pair, cim_runner_state_bytes(r));
    cim_runner_destroy(r);
  }
  /* IR drop folds a small change into every level: those effective levels stay in single
   * precision, 4 bytes per line */
  map_hw hw = hw_small(64);
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  snprintf(cfg.noise, sizeof cfg.noise, "prog-pcm+ir:r_wire=1");
  cim_runner *r;
  cr_assert_eq(cim_runner_create(&r, &mm, &hw, MAP_LINEAR, NULL, &cfg), 0, "%s", mon_errmsg());
  cr_expect_eq(cim_runner_state_bytes(r), (size_t)out * in * map_hw_slices(&hw) * 4);
  cim_runner_destroy(r);
  free(w);
  map_model_destroy(&mm);
}
