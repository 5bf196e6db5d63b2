/* moncim mvm: one matrix (dense or Monarch factors) simulated on input vectors from files, with
 * K Monte-Carlo repeats and the float reference, for comparisons with other simulators or chips. */
#include "bench.h"
#include "sim_opts.h"
#include "cimsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "mvm";

static void usage(FILE *f) {
  fprintf(f,
          "usage: moncim mvm --weights W.safetensors --tensor NAME --inputs X.safetensors\n"
          "                  [--input-tensor x] [--hw FILE] [--mapping linear|sparse|dense|auto]\n"
          "                  [--adc-bits A] [--dac-bits D] [--in-bits I] [--w-bits W]\n"
          "                  [--cell-bits C] [--encoding differential|offset] [--lossless]\n"
          "                  [--array-size m]\n"
          "                  [--adc-range fullscale|calibrated] [--percentile P]\n"
          "                  [--noise SPEC] [--seed N] [--repeat K] --out Y.safetensors\n\n"
          "W: tensor NAME of shape (out, in) (moncim orientation, y = W x), or the Monarch\n"
          "factors NAME.blkdiag1 (k, q, p) and NAME.blkdiag2 (l, s, r) (in = k p, out = l s).\n"
          "X: tensor (N, in) or (in). Output Y.safetensors: 'y' (K, N, out) simulated outputs\n"
          "(repeat k draws read noise for vector i with key row k*N + i; programming noise,\n"
          "drift and faults are one programmed chip per --seed) and 'y_ref' (N, out), the float\n"
          "product. Signed inputs: in_bits two's complement with per-vector symmetric scale\n"
          "max|x| / (2^(in_bits-1) - 1); weights: w_bits symmetric, one scale per matrix/factor\n"
          "(docs/analog-model.md). --adc-range calibrated clips at the P-th percentile (default\n"
          "99.99) of |column sums| measured on these inputs.\n");
}

int bench_cmd_mvm(int argc, char **argv) {
  const char *wpath = NULL, *tname = NULL, *xpath = NULL, *xname = "x", *out = NULL;
  int K = 1, asz = 0;
  bench_sim_opts so;
  bench_opt sim[BENCH_SIM_NOPTS];
  bench_sim_options(sim, &so, "linear");
  const bench_opt opts[] = {BENCH_TABLE(sim),
                            BENCH_STR("weights", &wpath),
                            BENCH_STR("tensor", &tname),
                            BENCH_STR("inputs", &xpath),
                            BENCH_STR("input-tensor", &xname),
                            BENCH_INT("repeat", &K, 1, 1000000),
                            BENCH_STR("out", &out),
                            BENCH_INT("array-size", &asz, 1, 65536),
                            BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!wpath || !tname || !xpath || !out)
    return bench_usage_error(CMD, "--weights, --tensor, --inputs and --out are required");
  map_hw hw;
  cim_config cfg;
  const map_strategy *st;
  int setup = bench_sim_setup(CMD, &so, asz, &hw, &cfg, &st);
  if (setup != BENCH_OK) return setup;
  const char *noise = so.noise;
  const long long seed = so.seed;

  mon_safetensors ws, xs;
  if (mon_st_open(&ws, wpath)) return bench_error(CMD, "%s", mon_errmsg());
  if (mon_st_open(&xs, xpath)) {
    mon_st_close(&ws);
    return bench_error(CMD, "%s", mon_errmsg());
  }
  int nout = 0, nin = 0, N = 0;
  rc = BENCH_OK;
  float *w = NULL, *w1 = NULL, *w2 = NULL, *x = NULL, *y = NULL, *yref = NULL;
  mon_monarch mon;
  memset(&mon, 0, sizeof mon);
  map_model mm;
  map_model_init(&mm, "mvm");
  char n1[600], n2[600];
  snprintf(n1, sizeof n1, "%s.blkdiag1", tname);
  snprintf(n2, sizeof n2, "%s.blkdiag2", tname);
  const mon_tensor *t = NULL;
  for (int i = 0; i < ws.ntensors; i++)
    if (!strcmp(ws.tensors[i].name, tname)) t = &ws.tensors[i];
  int is_mon = 0;
  if (!t) {
    int h1 = 0, h2 = 0;
    for (int i = 0; i < ws.ntensors; i++)
      h1 |= !strcmp(ws.tensors[i].name, n1), h2 |= !strcmp(ws.tensors[i].name, n2);
    if (!h1 || !h2) {
      rc = bench_error(CMD, "%s: no tensor '%s' (nor '%s' + '%s')", wpath, tname, n1, n2);
      goto done;
    }
    is_mon = 1;
  }
  if (!is_mon) {
    if (t->ndim != 2) {
      rc = bench_error(CMD, "%s: tensor '%s': expected 2 dimensions (out, in), got %d", wpath,
                       tname, t->ndim);
      goto done;
    }
    nout = (int)t->shape[0], nin = (int)t->shape[1];
    if (mon_st_read_f32(&ws, tname, 0, NULL, &w) ||
        map_model_add(&mm, tname, 0, MAP_FC, nout, nin, 0, 1, w, NULL, NULL)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
      goto done;
    }
  } else {
    const mon_tensor *t1 = mon_st_find(&ws, n1), *t2 = mon_st_find(&ws, n2);
    if (t1->ndim != 3 || t2->ndim != 3) {
      rc = bench_error(CMD, "%s: Monarch factors must be 3-D (k, q, p) and (l, s, r)", wpath);
      goto done;
    }
    int k = (int)t1->shape[0], q = (int)t1->shape[1], p = (int)t1->shape[2];
    int l = (int)t2->shape[0], s = (int)t2->shape[1], r = (int)t2->shape[2];
    nin = k * p, nout = l * s;
    if (mon_monarch_create_shaped(&mon, nout, nin, k, q, p, l, s, r) ||
        mon_st_read_f32(&ws, n1, 0, NULL, &w1) || mon_st_read_f32(&ws, n2, 0, NULL, &w2)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
      goto done;
    }
    memcpy(mon.w1, w1, mon_monarch_w1_len(&mon) * sizeof(float));
    memcpy(mon.w2, w2, mon_monarch_w2_len(&mon) * sizeof(float));
    mon.nblocks = k;
    if (map_model_add(&mm, tname, 0, MAP_FC, nout, nin, 0, 1, NULL, &mon, NULL)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
      goto done;
    }
  }
  const mon_tensor *tx = mon_st_find(&xs, xname);
  if (!tx) {
    rc = bench_error(CMD, "%s", mon_errmsg());
    goto done;
  }
  if (!((tx->ndim == 2 && tx->shape[1] == nin) || (tx->ndim == 1 && tx->shape[0] == nin))) {
    rc =
        bench_error(CMD, "%s: tensor '%s': expected shape (N, %d) or (%d)", xpath, xname, nin, nin);
    goto done;
  }
  N = tx->ndim == 2 ? (int)tx->shape[0] : 1;
  if (mon_st_read_f32(&xs, xname, 0, NULL, &x)) {
    rc = bench_error(CMD, "%s", mon_errmsg());
    goto done;
  }
  y = malloc((size_t)K * N * nout * sizeof(float));
  yref = malloc((size_t)N * nout * sizeof(float));
  if (!y || !yref) {
    rc = bench_error(CMD, "out of memory");
    goto done;
  }
  if (is_mon)
    mon_monarch_apply_ref(&mon, N, x, yref);
  else
    mon_dense_apply(w, nout, nin, N, x, yref);
  cim_runner *run;
  double t0 = bench_now();
  if (cim_runner_create(&run, &mm, &hw, st->id, NULL, &cfg)) {
    rc = bench_error(CMD, "%s", mon_errmsg());
    goto done;
  }
  if (cfg.adc_range == CIM_ADC_CALIBRATED && cim_runner_calibrate(run, 0, N, x))
    rc = bench_error(CMD, "%s", mon_errmsg());
  for (int k = 0; k < K && !rc; k++)
    if (cim_runner_apply(run, 0, (int64_t)k * N, N, x, y + (size_t)k * N * nout))
      rc = bench_error(CMD, "%s", mon_errmsg());
  double t1 = bench_now();
  int narr = cim_runner_mapping(run)->narrays;
  double irdrop = cim_runner_ir_drop(run);
  cim_runner_destroy(run);
  if (rc) goto done;
  double num = 0, den = 0;
  for (int k = 0; k < K; k++)
    for (size_t i = 0; i < (size_t)N * nout; i++) {
      double d = (double)y[(size_t)k * N * nout + i] - yref[i];
      num += d * d, den += (double)yref[i] * yref[i];
    }
  mon_st_writer *sw = mon_st_writer_create();
  int64_t shy[3] = {K, N, nout}, shr[2] = {N, nout};
  char hwtxt[64], seedtxt[32];
  snprintf(hwtxt, sizeof hwtxt, "adc %d dac %d in %d w %d cell %d", hw.adc_bits, hw.dac_bits,
           hw.in_bits, hw.w_bits, hw.cell_bits);
  snprintf(seedtxt, sizeof seedtxt, "%lld", seed);
  char droptxt[32];
  snprintf(droptxt, sizeof droptxt, "%.6g", irdrop);
  if (!sw || mon_st_writer_add(sw, "y", 3, shy, y) ||
      mon_st_writer_add(sw, "y_ref", 2, shr, yref) ||
      mon_st_writer_meta(sw, "moncim_version", bench_version_string()) ||
      mon_st_writer_meta(sw, "moncim_commit", bench_git_commit()) ||
      mon_st_writer_meta(sw, "mapping", st->name) || mon_st_writer_meta(sw, "converters", hwtxt) ||
      mon_st_writer_meta(sw, "encoding", hw.differential ? "differential" : "offset") ||
      mon_st_writer_meta(sw, "noise", noise) || mon_st_writer_meta(sw, "seed", seedtxt) ||
      mon_st_writer_meta(sw, "ir_drop_max", droptxt) || mon_st_writer_write(sw, out))
    rc = bench_error(CMD, "%s: %s", out, mon_errmsg());
  mon_st_writer_destroy(sw);
  if (!rc)
    printf("moncim mvm: %s (%d x %d%s) on %d vectors x %d repeats, %s, %d arrays: relative error "
           "%.4g, %.3f s -> %s\n",
           tname, nout, nin, is_mon ? ", Monarch" : "", N, K, st->name, narr,
           den > 0 ? sqrt(num / den) : 0.0, t1 - t0, out);
  if (!rc && irdrop > 0)
    printf("moncim mvm: largest first-order IR drop of a cell %.3g %%\n", 100 * irdrop);
done:
  free(w), free(w1), free(w2), free(x), free(y), free(yref);
  map_model_destroy(&mm);
  if (is_mon) mon_monarch_destroy(&mon);
  mon_st_close(&ws), mon_st_close(&xs);
  return rc;
}
