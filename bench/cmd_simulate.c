/* moncim simulate: a GPT-2 model's accuracy when every weight-stationary linear layer runs on the
 * simulated analog CIM hardware, next to the float model, plus the hardware's size and cost. */
#include "bench.h"
#include "pipeline.h"
#include "sim_opts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "simulate";

static void usage(FILE *f) {
  fprintf(
      f, "usage: moncim simulate --model DIR [--hw FILE] [--mapping S] [--adc-bits A]\n"
         "                       [--dac-bits D] [--in-bits I] [--w-bits W] [--cell-bits C]\n"
         "                       [--encoding differential|offset] [--lossless]\n"
         "                       [--adc-range fullscale|calibrated] [--percentile P]\n"
         "                       [--noise SPEC] [--seed N] [--positions N] [--attn-bits B]\n"
         "                       [--text FILE] [--adc-per column|pair]\n"
         "                       [--in-encoding twos|signmag] [--in-range dynamic|static]\n"
         "                       [--in-percentile P] [--adc-cal step|slice]\n"
         "                       [--calibrate-on eval|heldout] [--calibrate-positions N]\n"
         "                       [--json]\n\n"
         "Evaluates the model (a moncim model or a Hugging Face GPT-2 checkpoint directory) on\n"
         "the held-out King James text (or --text FILE) twice: in float, and with every\n"
         "linear layer (attention qkv/out, MLP fc/proj) executed by the analog simulator on the\n"
         "chosen mapping (attention products, LayerNorm, GELU and softmax stay digital float).\n"
         "Prints bits per byte (bits/char on ASCII text) and top-1 accuracy of both, the\n"
         "agreement of the simulated top-1 with the float top-1, the mean relative output\n"
         "error of the linear layers, arrays,\n"
         "ADCs, utilization, and latency, energy and area per token (docs/cost-model.md).\n"
         "Self-check: with --lossless, no --noise and --w-bits, --in-bits >= 16, the simulated\n"
         "bits/byte must equal the float one to 1e-4; VALID / INVALID (exit 1).\n\n"
         "  --mapping S     linear | sparse | dense | auto (default sparse)\n"
         "  --adc-bits A    ADC resolution (default: the hardware file)\n"
         "  --noise SPEC    e.g. 'prog-pcm+read-gauss:sigma=0.02' (docs/analog-model.md);\n"
         "                  none (default) = ideal devices\n"
         "  --positions N   scored next-token predictions (default 4096; with --text: all)\n"
         "  --text FILE     UTF-8 text to evaluate on (windows of n_positions, as moncim eval)\n"
         "  --seed N        keys every random draw (default 1)\n"
         "  --attn-bits B   digital attention operands (q, k, v, output) rounded to B-bit\n"
         "                  integers in the simulated run (default: float)\n"
         "  --calibrate-on eval|heldout  calibrated ADC ranges / static input ranges: on the\n"
         "                  first batch each layer sees (eval, default), or on held-out text (the\n"
         "                  end of the evaluation split, disjoint from the scored positions)\n"
         "  --calibrate-positions N  held-out calibration positions (default 1024)\n"
         "Periphery conventions (default: the hardware file's):\n" BENCH_SIM_PERIPHERY_USAGE);
}

int bench_cmd_simulate(int argc, char **argv) {
  const char *dir = NULL, *text = NULL, *calon = NULL;
  int json = 0, positions = 0, attn_bits = 0, cal_positions = 1024;
  bench_sim_opts so;
  bench_opt sim[BENCH_SIM_NOPTS];
  bench_sim_options(sim, &so, "sparse");
  const bench_opt opts[] = {BENCH_TABLE(sim),
                            BENCH_STR("model", &dir),
                            BENCH_INT("positions", &positions, 1, 1 << 30),
                            BENCH_INT("attn-bits", &attn_bits, 2, 24),
                            BENCH_STR("text", &text),
                            BENCH_FLAG("json", &json),
                            BENCH_STR("calibrate-on", &calon),
                            BENCH_INT("calibrate-positions", &cal_positions, 1, 1 << 24),
                            BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (calon && strcmp(calon, "eval") && strcmp(calon, "heldout"))
    return bench_usage_error(CMD, "--calibrate-on '%s': expected eval or heldout", calon);
  int heldout = calon && !strcmp(calon, "heldout");
  if (!dir) return bench_usage_error(CMD, "--model is required");
  map_hw hw;
  cim_config cfg;
  const map_strategy *st;
  int setup = bench_sim_setup(CMD, &so, 0, &hw, &cfg, &st);
  if (setup != BENCH_OK) return setup;
  const char *noise = so.noise;
  const int seed = so.seed, lossless = so.lossless;

  mon_model m;
  if (mon_model_load(&m, dir)) return bench_error(CMD, "%s", mon_errmsg());
  uint8_t *train = NULL, *eval = NULL;
  size_t ntrain = 0, neval = 0;
  pipe_reference ref = {0};
  job_metrics r;
  pipe_timing tm;
  rc = BENCH_OK;
  double t0 = bench_now();
  if ((text ? pipe_read_text(text, &eval, &neval) : mon_kjv_text(&train, &ntrain, &eval, &neval)) ||
      pipe_reference_eval(&ref, &m, eval, neval,
                          positions ? positions
                          : text    ? -1
                                    : 4096)) {
    rc = bench_error(CMD, "%s", mon_errmsg());
    goto done;
  }
  double t1 = bench_now();
  const uint8_t *ct = NULL;
  size_t nct = 0;
  if (heldout &&
      cim_heldout_text(eval, neval, m.cfg.n_positions, ref.positions, cal_positions, &ct, &nct)) {
    rc = bench_error(CMD, "--calibrate-on heldout: %s", mon_errmsg());
    goto done;
  }
  pipe_job job = {.model = &m,
                  .hw = &hw,
                  .strategy = st->id,
                  .cfg = &cfg,
                  .text = eval,
                  .ntext = neval,
                  .ref = &ref,
                  .attn_bits = attn_bits,
                  .cal_text = ct,
                  .ncal = nct,
                  .cal_positions = cal_positions};
  if (pipe_run(&job, &r, NULL, &tm)) {
    rc = bench_error(CMD, "%s", mon_errmsg());
    goto done;
  }
  int selfcheck = lossless && !*noise && hw.w_bits >= 16 && hw.in_bits >= 16;
  int valid = !selfcheck || fabs(r.bpc - r.bpc_float) < 1e-4;
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", dir);
    cJSON_AddStringToObject(o, "mapping", st->name);
    bench_hw_json(o, &hw);
    cJSON_AddBoolToObject(o, "lossless", lossless);
    cJSON_AddStringToObject(o, "adc_range", cfg.adc_range ? "calibrated" : "fullscale");
    cJSON_AddStringToObject(o, "adc_per", hw.adc_per_pair ? "pair" : "column");
    cJSON_AddStringToObject(o, "in_encoding", hw.in_sign_magnitude ? "signmag" : "twos");
    cJSON_AddStringToObject(o, "in_range", hw.in_range_static ? "static" : "dynamic");
    cJSON_AddStringToObject(o, "adc_cal", hw.adc_cal_per_slice ? "slice" : "step");
    cJSON_AddStringToObject(o, "calibrate_on", heldout ? "heldout" : "eval");
    cJSON_AddNumberToObject(o, "in_clip_frac", r.in_clip_frac);
    cJSON_AddStringToObject(o, "noise", noise);
    cJSON_AddNumberToObject(o, "attn_bits", attn_bits);
    cJSON_AddNumberToObject(o, "seed", seed);
    cJSON_AddNumberToObject(o, "positions", (double)r.eval_chars);
    cJSON_AddNumberToObject(o, "bpc_float", r.bpc_float);
    cJSON_AddNumberToObject(o, "bpc", r.bpc);
    cJSON_AddNumberToObject(o, "top1_float", r.top1_float);
    cJSON_AddNumberToObject(o, "top1", r.top1);
    cJSON_AddNumberToObject(o, "agreement", r.agreement);
    cJSON_AddNumberToObject(o, "linear_rel_err", r.out_rel_err);
    cJSON_AddNumberToObject(o, "arrays", (double)r.arrays);
    cJSON_AddNumberToObject(o, "adcs", (double)r.adcs);
    cJSON_AddNumberToObject(o, "utilization", r.utilization);
    cJSON_AddNumberToObject(o, "latency_ns", r.latency_ns);
    cJSON_AddNumberToObject(o, "energy_pj", r.energy_pj);
    cJSON_AddNumberToObject(o, "area_mm2", r.area_mm2);
    cJSON_AddNumberToObject(o, "state_mib", r.state_mib);
    cJSON_AddNumberToObject(o, "seconds_float", t1 - t0);
    cJSON_AddNumberToObject(o, "seconds_setup", tm.setup_s);
    cJSON_AddNumberToObject(o, "seconds_sim", tm.sim_s);
    if (selfcheck) cJSON_AddBoolToObject(o, "valid", valid);
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
  } else {
    bench_version(stdout);
    printf("# model %s, mapping %s, adc %d dac %d in %d w %d cell %d bits, %s%s, ADC %s, "
           "noise '%s', seed %d, attention %d bits (0 = float), %lld positions\n",
           dir, st->name, hw.adc_bits, hw.dac_bits, hw.in_bits, hw.w_bits, hw.cell_bits,
           hw.differential ? "differential" : "offset", lossless ? ", lossless" : "",
           cfg.adc_range ? "calibrated" : "full scale", noise, seed, attn_bits,
           (long long)r.eval_chars);
    printf("%-22s %12s %12s\n", "", "float", "simulated");
    printf("%-22s %12.5f %12.5f\n", "bits/byte", r.bpc_float, r.bpc);
    printf("%-22s %12.4f %12.4f\n", "top-1", r.top1_float, r.top1);
    printf("%-22s %12s %12.4f\n", "top-1 agreement", "", r.agreement);
    printf("%-22s %12s %12.4g\n", "linear rel. error", "", r.out_rel_err);
    printf("# periphery: ADC per %s, inputs %s, input range %s (clipped %.4g), ADC calibration "
           "per %s on %s\n",
           hw.adc_per_pair ? "pair" : "column",
           hw.in_sign_magnitude ? "sign-magnitude" : "two's complement",
           hw.in_range_static ? "static" : "dynamic", r.in_clip_frac,
           hw.adc_cal_per_slice ? "slice" : "step", heldout ? "held-out text" : "first batch");
    printf("%-22s %12s %12lld\n", "arrays", "", (long long)r.arrays);
    printf("%-22s %12s %12lld\n", "ADCs", "", (long long)r.adcs);
    printf("%-22s %12s %12.4f\n", "utilization", "", r.utilization);
    printf("%-22s %12s %12.1f\n", "latency/token (ns)", "", r.latency_ns);
    printf("%-22s %12s %12.1f\n", "energy/token (pJ)", "", r.energy_pj);
    printf("%-22s %12s %12.4f\n", "area (mm^2)", "", r.area_mm2);
    printf("%-22s %12s %12.1f\n", "device state (MiB)", "", r.state_mib);
    printf("%-22s %12.2f %12.2f   (setup %.2f s)\n", "seconds", t1 - t0, tm.sim_s, tm.setup_s);
    if (selfcheck)
      printf("%s: |bpc - bpc_float| = %.2g (< 1e-4)\n", valid ? "VALID" : "INVALID",
             fabs(r.bpc - r.bpc_float));
  }
  if (!valid) rc = BENCH_FAIL;
done:
  pipe_reference_destroy(&ref);
  mon_model_destroy(&m);
  free(train), free(eval);
  return rc;
}
