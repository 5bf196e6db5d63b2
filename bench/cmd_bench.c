/* moncim bench mvm: throughput of the analog simulator against OpenBLAS SGEMM on the same work. */
#include "bench.h"
#include "cimsim.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "bench";

static void usage(FILE *f) {
  fprintf(
      f, "usage: moncim bench mvm [--batch B] [--repeat R] [--nblocks N] [--size n]\n"
         "                        [--hw FILE] [--noise SPEC] [--adc-bits A] [--ir SPEC]\n"
         "                        [--json]\n\n"
         "Figure of merit: effective analog MACs per second = driven rows x converted columns\n"
         "x converted lines per weight (device columns, or G+/G- pairs with adc_per_pair)\n"
         "x DAC steps x vectors / s, for an n x n Linear\n"
         "layer and an n x n Monarch layer (nblocks) under SparseMap and DenseMap, on a batch of\n"
         "B vectors, with read noise and finite ADCs on. In the same run, OpenBLAS SGEMM performs\n"
         "the same products (same shapes, same threads) without digits, noise or ADC; the ratio\n"
         "sim / sgemm is the simulator's efficiency. min / median / max over R repeats after one\n"
         "warm-up; setup (mapping, programming) is untimed.\n\n"
         "  --batch B      vectors per call (default 64)\n"
         "  --repeat R     timed repeats (default 7)\n"
         "  --nblocks N    Monarch blocks (default 8)\n"
         "  --size n       layer size (default 1024)\n"
         "  --hw FILE      hardware JSON (default built-in: 256x256, 8-bit inputs bit-serial,\n"
         "                 8-bit weights on 2-bit cells (4 slices per sign), 8-bit ADC)\n"
         "  --noise SPEC   non-idealities (default read-gauss:sigma=0.02; none = ideal)\n"
         "  --adc-bits A   override the ADC resolution\n"
         "  --ir SPEC      IR-drop entry timed as well, added to --noise (default ir:model=fast;\n"
         "                 'none' skips it): ir_x = median time with it / without it; ir_setup =\n"
         "                 its extra untimed setup (solving the crossbars), s\n"
         "  --json         one JSON object on stdout instead of the table\n");
}

static double relerr(const float *y, const float *ref, int n) {
  double num = 0, den = 0;
  for (int i = 0; i < n; i++)
    num += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]), den += (double)ref[i] * ref[i];
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct {
  const char *name;
  int monarch;
  map_strategy_id st;
} bcase;

int bench_cmd_bench(int argc, char **argv) {
  int B = 64, R = 7, nb = 8, n = 1024, adc = -1, json = 0, nops;
  const char *hwfile = NULL, *noise = "read-gauss:sigma=0.02", *ir = "ir:model=fast";
  const bench_opt opts[] = {BENCH_INT("batch", &B, 1, 1 << 20),
                            BENCH_INT("repeat", &R, 1, 10000),
                            BENCH_INT("nblocks", &nb, 1, 1 << 20),
                            BENCH_INT("size", &n, 2, 1 << 16),
                            BENCH_STR("hw", &hwfile),
                            BENCH_STR("noise", &noise),
                            BENCH_INT("adc-bits", &adc, 1, 32),
                            BENCH_STR("ir", &ir),
                            BENCH_FLAG("json", &json),
                            BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, &nops);
  if (rc != BENCH_CONTINUE) return rc;
  if (nops != 1 || strcmp(argv[1], "mvm"))
    return bench_usage_error(CMD,
                             nops ? "'%s': unknown benchmark (expected 'mvm')"
                                  : "expected the benchmark name 'mvm'%s",
                             nops ? argv[1] : "");
  map_hw hw;
  if (hwfile ? map_hw_load(&hw, hwfile) : (map_hw_default(&hw), 0))
    return bench_error(CMD, "%s", mon_errmsg());
  if (adc > 0) hw.adc_bits = adc;
  if (cim_noise_check(noise)) return bench_usage_error(CMD, "--noise: %s", mon_errmsg());
  char noise_ir[sizeof((cim_config *)0)->noise] = "";
  if (strcmp(ir, "none")) {
    if (strncmp(ir, "ir", 2) || (ir[2] && ir[2] != ':'))
      return bench_usage_error(CMD, "--ir '%s': expected an 'ir[:key=value,...]' entry or none",
                               ir);
    int ideal = !*noise || !strcmp(noise, "none");
    snprintf(noise_ir, sizeof noise_ir, "%s%s%s", ideal ? "" : noise, ideal ? "" : "+", ir);
    if (cim_noise_check(noise_ir)) return bench_usage_error(CMD, "--ir: %s", mon_errmsg());
  }
  map_model md, mmon;
  map_model_init(&md, "bench-linear");
  map_model_init(&mmon, "bench-monarch");
  if (map_model_add(&md, "dense", 0, MAP_FC, n, n, 0, B, NULL, NULL, NULL) ||
      map_model_add(&mmon, "monarch", 0, MAP_FC, n, n, nb, B, NULL, NULL, NULL) ||
      map_model_random_weights(&md, 1) || map_model_random_weights(&mmon, 2)) {
    map_model_destroy(&md), map_model_destroy(&mmon);
    return bench_error(CMD, "%s", mon_errmsg());
  }
  bcase cases[] = {{"linear", 0, MAP_LINEAR}, {"sparse", 1, MAP_SPARSE}, {"dense", 1, MAP_DENSE}};
  float *x = malloc((size_t)B * n * sizeof(float)), *y = malloc((size_t)B * n * sizeof(float));
  float *ref = malloc((size_t)B * n * sizeof(float));
  double *ts = malloc((size_t)R * sizeof(double)), *tg = malloc((size_t)R * sizeof(double));
  if (!x || !y || !ref || !ts || !tg) return bench_error(CMD, "out of memory");
  for (int i = 0; i < B * n; i++) x[i] = (float)(2 * mon_u01(mon_hash64((uint64_t)i)) - 1);
  cJSON *jo = json ? cJSON_CreateObject() : NULL, *jcases = NULL;
  if (json) {
    cJSON_AddStringToObject(jo, "moncim", bench_version_string());
    cJSON_AddStringToObject(jo, "commit", bench_git_commit());
    cJSON_AddNumberToObject(jo, "size", n);
    cJSON_AddNumberToObject(jo, "nblocks", nb);
    cJSON_AddNumberToObject(jo, "batch", B);
    cJSON_AddNumberToObject(jo, "repeat", R);
    bench_hw_json(jo, &hw);
    cJSON_AddStringToObject(jo, "noise", noise);
    cJSON_AddStringToObject(jo, "noise_ir", noise_ir);
    jcases = cJSON_AddArrayToObject(jo, "cases");
  } else {
    bench_version(stdout);
    printf("# bench mvm: %dx%d layer, Monarch nblocks %d, batch %d, %d repeats, arrays %dx%d,\n"
           "# in_bits %d dac_bits %d (%d steps), w_bits %d cell_bits %d (%d device columns, %d "
           "converted lines per weight), adc_bits %d, noise '%s'\n"
           "# periphery: ADC per %s, inputs %s, input range %s\n",
           n, n, nb, B, R, hw.rows, hw.cols, hw.in_bits, hw.dac_bits, map_hw_dac_steps(&hw),
           hw.w_bits, hw.cell_bits, map_hw_slices(&hw), map_hw_conv_lines(&hw), hw.adc_bits, noise,
           hw.adc_per_pair ? "pair" : "column", hw.in_sign_magnitude ? "sign-magnitude" : "twos",
           hw.in_range_static ? "static" : "dynamic");
    if (*noise_ir) printf("# IR drop timed with noise '%s'\n", noise_ir);
    printf("%-8s %7s %10s %10s %10s %10s %10s %10s %7s %9s %7s %9s %s\n", "mapping", "arrays",
           "sim_min", "sim_med", "sim_max", "sgemm_min", "sgemm_med", "sgemm_max", "ratio", "noisy",
           "ir_x", "ir_setup", "(ideal)");
    printf("%-8s %7s %10s %10s %10s %10s %10s %10s %7s %9s %7s %9s %s\n", "", "", "GMAC/s",
           "GMAC/s", "GMAC/s", "GMAC/s", "GMAC/s", "GMAC/s", "med", "rel_err", "med", "s", "check");
  }
  rc = BENCH_OK;
  for (int c = 0; c < 3 && !rc; c++) {
    cim_config cfg;
    cim_config_default(&cfg, &hw);
    snprintf(cfg.noise, sizeof cfg.noise, "%s", noise);
    cim_runner *r;
    double tc0 = bench_now();
    if (cim_runner_create(&r, cases[c].monarch ? &mmon : &md, &hw, cases[c].st, NULL, &cfg)) {
      rc = bench_error(CMD, "%s: %s", cases[c].name, mon_errmsg());
      break;
    }
    double tsetup = bench_now() - tc0;
    double macs = cim_runner_macs(r, 0) * B;
    /* calibration (static input range, calibrated ADC) and warm-up, untimed */
    if ((cim_runner_needs_calibration(r) && cim_runner_calibrate(r, 0, B, x)) ||
        cim_runner_apply(r, 0, 0, B, x, y) || cim_runner_sgemm_equiv(r, 0, B)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
      cim_runner_destroy(r);
      break;
    }
    for (int k = 0; k < R && !rc; k++) {
      double t0 = bench_now();
      if (cim_runner_apply(r, 0, (int64_t)k * B, B, x, y))
        rc = bench_error(CMD, "%s", mon_errmsg());
      double t1 = bench_now();
      if (!rc && cim_runner_sgemm_equiv(r, 0, B)) rc = bench_error(CMD, "%s", mon_errmsg());
      double t2 = bench_now();
      ts[k] = macs / (t1 - t0) * 1e-9, tg[k] = macs / (t2 - t1) * 1e-9;
    }
    /* the noisy output's relative error to the float product (untimed), taken before the
     * IR-drop runner below reuses y */
    double err = 0, errv = 0;
    const map_layer *L = &(cases[c].monarch ? &mmon : &md)->layer[0];
    if (!rc) {
      if (L->is_monarch ? mon_monarch_apply(L->mon, B, x, ref)
                        : (mon_dense_apply(L->w, n, n, B, x, ref), 0))
        rc = bench_error(CMD, "%s", mon_errmsg());
      err = relerr(y, ref, B * n);
    }
    /* the same work with the IR-drop entry added: time ratio of the medians, extra setup */
    double irx = NAN, irsetup = NAN;
    if (!rc && *noise_ir) {
      cim_config ci = cfg;
      snprintf(ci.noise, sizeof ci.noise, "%s", noise_ir);
      cim_runner *ri;
      double t0 = bench_now();
      if (cim_runner_create(&ri, cases[c].monarch ? &mmon : &md, &hw, cases[c].st, NULL, &ci)) {
        rc = bench_error(CMD, "%s: %s", cases[c].name, mon_errmsg());
      } else {
        irsetup = bench_now() - t0 - tsetup;
        double *ti = malloc((size_t)R * sizeof(double));
        if (!ti)
          rc = bench_error(CMD, "out of memory");
        else if (cim_runner_apply(ri, 0, 0, B, x, y))
          rc = bench_error(CMD, "%s", mon_errmsg());
        for (int k = 0; k < R && !rc; k++) {
          double t1 = bench_now();
          if (cim_runner_apply(ri, 0, (int64_t)k * B, B, x, y))
            rc = bench_error(CMD, "%s", mon_errmsg());
          ti[k] = macs / (bench_now() - t1) * 1e-9;
        }
        if (!rc) {
          qsort(ti, R, sizeof(double), cmpd);
          double *tcp = malloc((size_t)R * sizeof(double));
          if (tcp) {
            memcpy(tcp, ts, (size_t)R * sizeof(double));
            qsort(tcp, R, sizeof(double), cmpd);
            irx = tcp[R / 2] / ti[R / 2]; /* GMAC/s without / with = time with / without */
          }
          free(tcp);
        }
        free(ti);
        cim_runner_destroy(ri);
      }
    }
    /* self-check (untimed): an ideal lossless runner with 16-bit weights and inputs on the same
     * mapping must reproduce the float product */
    if (!rc) {
      map_hw hv = hw;
      hv.w_bits = hv.in_bits = 16, hv.cell_bits = hv.dac_bits = 4;
      cim_config cv;
      cim_config_default(&cv, &hv);
      cv.lossless = 1;
      cim_runner *rv;
      if (!rc &&
          (cim_runner_create(&rv, cases[c].monarch ? &mmon : &md, &hv, cases[c].st, NULL, &cv) ||
           (cim_runner_needs_calibration(rv) && cim_runner_calibrate(rv, 0, B, x)) ||
           cim_runner_apply(rv, 0, 0, B, x, y)))
        rc = bench_error(CMD, "%s", mon_errmsg());
      else if (!rc) {
        errv = relerr(y, ref, B * n);
        cim_runner_destroy(rv);
      }
    }
    if (!rc) {
      qsort(ts, R, sizeof(double), cmpd);
      qsort(tg, R, sizeof(double), cmpd);
      if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "mapping", cases[c].name);
        cJSON_AddNumberToObject(o, "arrays", cim_runner_mapping(r)->narrays);
        cJSON_AddNumberToObject(o, "sim_gmacs_min", ts[0]);
        cJSON_AddNumberToObject(o, "sim_gmacs_median", ts[R / 2]);
        cJSON_AddNumberToObject(o, "sim_gmacs_max", ts[R - 1]);
        cJSON_AddNumberToObject(o, "sgemm_gmacs_min", tg[0]);
        cJSON_AddNumberToObject(o, "sgemm_gmacs_median", tg[R / 2]);
        cJSON_AddNumberToObject(o, "sgemm_gmacs_max", tg[R - 1]);
        cJSON_AddNumberToObject(o, "ratio_median", ts[R / 2] / tg[R / 2]);
        cJSON_AddNumberToObject(o, "noisy_rel_err", err);
        cJSON_AddNumberToObject(o, "ideal_rel_err", errv);
        cJSON_AddNumberToObject(o, "ir_x", irx);
        cJSON_AddNumberToObject(o, "ir_setup_s", irsetup);
        cJSON_AddBoolToObject(o, "valid", errv < 1e-3);
        cJSON_AddItemToArray(jcases, o);
      } else {
        printf("%-8s %7d %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %7.3f %9.4f %7.2f %9.3f %s "
               "(%.1e)\n",
               cases[c].name, cim_runner_mapping(r)->narrays, ts[0], ts[R / 2], ts[R - 1], tg[0],
               tg[R / 2], tg[R - 1], ts[R / 2] / tg[R / 2], err, irx, irsetup,
               errv < 1e-3 ? "VALID" : "INVALID", errv);
      }
      if (errv >= 1e-3) rc = BENCH_FAIL;
    }
    cim_runner_destroy(r);
  }
  if (json) {
    char *t = cJSON_Print(jo);
    if (t) printf("%s\n", t);
    free(t);
    cJSON_Delete(jo);
  }
  free(x), free(y), free(ref), free(ts), free(tg);
  map_model_destroy(&md), map_model_destroy(&mmon);
  return rc;
}
