/* Tests of pipeline/: one job end to end on the zoo model and on a shape-only workload, the real
 * sweep executor as a thin adapter over pipe_run, and every shipped sweep file against the
 * checker of the executor that runs it. */
#include <criterion/criterion.h>

#include "pipeline.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZOO_NB4 MONCIM_SOURCE_DIR "/models/kjv-nb4"

/* Positions scored: enough for a stable agreement figure, small enough to keep the suite fast. */
#define POSITIONS 96

static uint8_t *train_text, *eval_text;
static size_t ntrain, neval;

static void load_text(void) {
  cr_assert_eq(mon_kjv_text(&train_text, &ntrain, &eval_text, &neval), 0, "%s", mon_errmsg());
}

static void free_text(void) {
  free(train_text);
  free(eval_text);
}

/* The shipped sweep files of a directory, each checked by the executor it names. */
static int check_dir(const char *sub) {
  char dirp[1024];
  snprintf(dirp, sizeof dirp, "%s/%s", MONCIM_SOURCE_DIR, sub);
  DIR *d = opendir(dirp);
  cr_assert_not_null(d, "%s", dirp);
  const job_executor *table[] = {&pipe_executor, &job_executor_synthetic};
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 7 || strcmp(e->d_name + len - 6, ".sweep")) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dirp, e->d_name);
    job_sweep s;
    cr_assert_eq(job_sweep_parse(&s, path, NULL), 0, "%s", mon_errmsg());
    const job_executor *ex = job_executor_find(table, 2, s.executor);
    cr_assert_not_null(ex, "%s: executor '%s'", path, s.executor);
    cr_assert_eq(job_sweep_check(&s, ex), 0, "%s: %s", path, mon_errmsg());
    job_sweep_destroy(&s);
    n++;
  }
  closedir(d);
  return n;
}

Test(pipeline, shipped_sweeps_pass_their_executors_checks) {
  cr_assert_geq(check_dir("jobs"), 3);
  cr_assert_geq(check_dir("scripts/sweeps"), 2);
}

/* A misspelt option in a shipped sweep fails the real checker, naming the line and the key. */
Test(pipeline, typo_in_shipped_sweep_is_rejected) {
  char path[1024];
  snprintf(path, sizeof path, "%s/jobs/default.sweep", MONCIM_SOURCE_DIR);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  char text[16384];
  size_t n = fread(text, 1, sizeof text - 64, f);
  fclose(f);
  text[n] = 0;
  int nlines = 0;
  for (size_t i = 0; i < n; i++) nlines += text[i] == '\n';
  strcat(text, "option.eval_char = 512\n");
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, path, text), 0, "%s", mon_errmsg());
  cr_assert_eq(job_sweep_check(&s, &pipe_executor), -1);
  char want[1100];
  snprintf(want, sizeof want, "default.sweep:%d: key 'option.eval_char'", nlines + 1);
  cr_assert(strstr(mon_errmsg(), want), "%s", mon_errmsg());
  cr_assert(strstr(mon_errmsg(), "eval_chars"), "lists the known options: %s", mon_errmsg());
  job_sweep_destroy(&s);
}

/* Lossless converters, 16-bit weights and inputs, no noise: the simulated model is the float
 * model (bits/char to 1e-4, every top-1 the same), every metric is computed, and the per-layer
 * rows add up to the job's totals. */
Test(pipeline, ideal_job_equals_float_and_fills_every_metric, .init = load_text,
     .fini = free_text) {
  mon_model m;
  cr_assert_eq(mon_model_load(&m, ZOO_NB4), 0, "%s", mon_errmsg());
  pipe_reference ref;
  cr_assert_eq(pipe_reference_eval(&ref, &m, eval_text, neval, POSITIONS), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw);
  hw.w_bits = hw.in_bits = 16;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  cfg.lossless = 1;
  pipe_job j = {.model = &m,
                .hw = &hw,
                .strategy = MAP_SPARSE,
                .cfg = &cfg,
                .text = eval_text,
                .ntext = neval,
                .ref = &ref};
  int nl = pipe_nlayers(&j);
  cr_assert_eq(nl, m.cfg.n_layer * MON_LIN_KINDS);
  job_layer *L = calloc((size_t)nl, sizeof *L);
  job_metrics r;
  pipe_timing t;
  cr_assert_eq(pipe_run(&j, &r, L, &t), 0, "%s", mon_errmsg());
  cr_expect_eq(r.eval_chars, POSITIONS);
  cr_expect_eq(r.bpc_float, ref.bpc);
  cr_expect(fabs(r.bpc - r.bpc_float) < 1e-4, "bpc %g vs float %g", r.bpc, r.bpc_float);
  cr_expect_eq(r.agreement, 1.0);
  cr_expect(r.out_rel_err >= 0 && r.out_rel_err < 1e-3, "out_rel_err %g", r.out_rel_err);
#define EXPECT_SET(type, name, unit, doc)                                                          \
  cr_expect(!isnan((double)r.name) && (double)r.name >= 0, #name " = %g", (double)r.name);
  MON_JOB_METRICS(EXPECT_SET)
  double e = 0, lat = 0;
  int64_t conv = 0;
  for (int l = 0; l < nl; l++) {
    e += L[l].energy_pj, lat += L[l].latency_ns, conv += L[l].conversions;
    cr_expect(isfinite(L[l].out_rel_err), "layer %d out_rel_err", l);
    cr_expect_str_eq(L[l].mapping, "sparse");
    cr_expect_eq(L[l].nblocks, 4);
  }
  cr_expect_str_eq(L[0].name, "h.0.qkv");
  cr_expect(fabs(e - r.energy_pj) <= 1e-9 * r.energy_pj, "layer energies %g vs %g", e, r.energy_pj);
  cr_expect(fabs(lat - r.latency_ns) <= 1e-9 * r.latency_ns);
  cr_expect_eq(conv, r.conversions);
  cr_expect(t.setup_s >= 0 && t.sim_s > 0);
  free(L);
  pipe_reference_destroy(&ref);
  mon_model_destroy(&m);
}

/* A shape-only job: the accuracy columns stay NaN, the cost is the cost model's on the same
 * mapping and stream, built here independently. */
Test(pipeline, shape_job_costs_like_the_cost_model) {
  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "bert-large", 16), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw);
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  pipe_job j = {.shape = &mm, .hw = &hw, .strategy = MAP_DENSE, .cfg = &cfg};
  job_metrics r;
  cr_assert_eq(pipe_run(&j, &r, NULL, NULL), 0, "%s", mon_errmsg());
#define EXPECT_NAN(type, name, unit, doc) cr_expect(type##_UNSET(r.name), #name);
#define F64_UNSET(x)                      isnan(x)
#define I64_UNSET(x)                      ((x) == 0)
  MON_ACCURACY_METRICS(EXPECT_NAN)
  map_mapping mp;
  map_stream cs;
  map_cost c;
  cr_assert_eq(map_build(&mp, &mm, &hw, MAP_DENSE, NULL), 0);
  cr_assert_eq(map_schedule(&cs, &mp, &mm, &hw), 0);
  cr_assert_eq(map_cost_compute(&c, NULL, &cs, &mp, &mm, &hw), 0);
#define EXPECT_SAME(type, name, unit, doc) cr_expect_eq(r.name, c.name, #name);
  MON_COST_METRICS(EXPECT_SAME)
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
}

/* Runs job 0 of a one-job sweep with the real executor. */
static void executor_job(const char *text, job_metrics *m, job_layer *L, int *nl) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", text), 0, "%s", mon_errmsg());
  cr_assert_eq(job_sweep_check(&s, &pipe_executor), 0, "%s", mon_errmsg());
  void *st;
  cr_assert_eq(pipe_executor.create(&st, &s), 0, "%s", mon_errmsg());
  cr_assert_eq(pipe_executor.plan(st, &s.jobs[0], nl), 0, "%s", mon_errmsg());
  cr_assert_eq(pipe_executor.run(st, &s.jobs[0], m, L), 0, "%s", mon_errmsg());
  pipe_executor.destroy(st);
  job_sweep_destroy(&s);
}

/* The executor is pipe_run with the job's settings: the same record bit for bit; and its
 * option.attn_bits reaches the evaluation. */
Test(pipeline, executor_runs_the_pipeline, .init = load_text, .fini = free_text) {
  char text[1024];
  snprintf(text, sizeof text,
           "models = dir:%s\nnblocks = 4\nmappings = dense\nadc_bits = 6\ndac_bits = 2\n"
           "noise = pcm\nnoise.pcm = prog-pcm\nseeds = 3\noption.eval_chars = %d\n",
           ZOO_NB4, POSITIONS);
  job_metrics m1, m2;
  job_layer L1[64], L2[64];
  int nl;
  executor_job(text, &m1, L1, &nl);
  cr_assert_eq(nl, 16);

  mon_model m;
  cr_assert_eq(mon_model_load(&m, ZOO_NB4), 0, "%s", mon_errmsg());
  pipe_reference ref;
  cr_assert_eq(pipe_reference_eval(&ref, &m, eval_text, neval, POSITIONS), 0);
  map_hw hw;
  map_hw_default(&hw);
  hw.adc_bits = 6, hw.dac_bits = 2;
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  snprintf(cfg.noise, sizeof cfg.noise, "prog-pcm");
  cfg.seed = 3;
  pipe_job j = {.model = &m,
                .hw = &hw,
                .strategy = MAP_DENSE,
                .cfg = &cfg,
                .text = eval_text,
                .ntext = neval,
                .ref = &ref};
  cr_assert_eq(pipe_run(&j, &m2, L2, NULL), 0, "%s", mon_errmsg());
#define EXPECT_BITS(type, name, unit, doc)                                                         \
  cr_expect(!memcmp(&m1.name, &m2.name, sizeof m1.name), #name ": %g vs %g", (double)m1.name,      \
            (double)m2.name);
  MON_JOB_METRICS(EXPECT_BITS)
  for (int l = 0; l < nl; l++) {
    cr_expect_str_eq(L1[l].name, L2[l].name);
    cr_expect(!memcmp(&L1[l].out_rel_err, &L2[l].out_rel_err, sizeof(double)), "layer %d", l);
  }
  cr_expect(m1.bpc > m1.bpc_float, "programming noise costs accuracy: %g vs %g", m1.bpc,
            m1.bpc_float);

  /* Attention operands rounded to 2 bits change the simulated model, not the float one. */
  strcat(text, "option.attn_bits = 2\n");
  job_metrics m3;
  executor_job(text, &m3, L1, &nl);
  cr_expect_eq(m3.bpc_float, m1.bpc_float);
  cr_expect_neq(m3.bpc, m1.bpc, "option.attn_bits has no effect");
  pipe_reference_destroy(&ref);
  mon_model_destroy(&m);
}

/* The mapping and cost settings as sweep options: a shape-only job costs what pipe_run costs
 * with the same fields set by hand on the hardware and the map_options, records them, and
 * differs from the job without them. */
Test(pipeline, executor_applies_the_mapping_settings) {
  const char *base = "models = shape:bart-large\nnblocks = 16\nmappings = dense\n";
  char text[1024];
  snprintf(text, sizeof text,
           "%soption.dense_layout = contiguous\noption.dense_row_split = 2\n"
           "option.share_rows = 1\noption.digital_lanes = 16\noption.fold_permute = 1\n"
           "option.adc_lossless = 1\n",
           base);
  job_metrics m1, d, m2;
  job_layer L[256];
  int nl;
  executor_job(text, &m1, L, &nl);
  executor_job(base, &d, L, &nl);

  map_model mm;
  cr_assert_eq(map_model_workload(&mm, "bart-large", 16), 0, "%s", mon_errmsg());
  map_hw hw;
  map_hw_default(&hw);
  hw.adc_bits = 8, hw.dac_bits = 1; /* the sweep's axis defaults */
  hw.digital_lanes = 16, hw.fold_permute = 1, hw.adc_lossless = 1;
  map_options o = {.dense_layout = MAP_DENSE_CONTIGUOUS, .dense_row_split = 2, .share_rows = 1};
  cim_config cfg;
  cim_config_default(&cfg, &hw);
  pipe_job j = {.shape = &mm, .hw = &hw, .strategy = MAP_DENSE, .opt = &o, .cfg = &cfg};
  cr_assert_eq(pipe_run(&j, &m2, NULL, NULL), 0, "%s", mon_errmsg());
  MON_COST_METRICS(EXPECT_BITS)
  MON_SETTING_METRICS(EXPECT_BITS)
  const job_metrics m = m1;
  cr_expect_eq(m.dense_layout, MAP_DENSE_CONTIGUOUS);
  cr_expect_eq(m.dense_row_split, 2);
  cr_expect_eq(m.share_rows, 1);
  cr_expect_eq(m.digital_lanes, 16);
  cr_expect_eq(m.fold_permute, 1);
  cr_expect_eq(m.adc_lossless, 1);
  map_hw hw0;
  map_hw_default(&hw0);
  cr_expect(d.dense_layout == MAP_DENSE_INTERLEAVED && d.dense_row_split == 1 && !d.share_rows &&
                d.digital_lanes == hw0.digital_lanes && d.fold_permute == hw0.fold_permute &&
                d.adc_lossless == hw0.adc_lossless,
            "the job without options records the defaults");
  cr_expect_neq(m.latency_ns, d.latency_ns, "the settings have no effect on latency");
  cr_expect_neq(m.energy_adc_pj, d.energy_adc_pj, "adc_lossless has no effect on ADC energy");
  map_model_destroy(&mm);
}

/* The digital_lanes axis is option.digital_lanes per job: the same cost bit for bit. */
Test(pipeline, digital_lanes_axis_equals_the_option) {
  const char *base = "models = shape:bert-large\nnblocks = 16\nmappings = sparse\n";
  char ax[256], op[256];
  snprintf(ax, sizeof ax, "%sdigital_lanes = 64\n", base);
  snprintf(op, sizeof op, "%soption.digital_lanes = 64\n", base);
  job_metrics m1, m2, d;
  job_layer L[256];
  int nl;
  executor_job(ax, &m1, L, &nl);
  executor_job(op, &m2, L, &nl);
  executor_job(base, &d, L, &nl);
  MON_COST_METRICS(EXPECT_BITS)
  MON_SETTING_METRICS(EXPECT_BITS)
  cr_expect_eq(m1.digital_lanes, 64);
  cr_expect_lt(m1.latency_digital_ns, d.latency_digital_ns, "64 lanes are not faster than 1");

  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", "models = shape:zoo-shape\ndigital_lanes = 0, 3\n"),
               0, "%s", mon_errmsg());
  cr_expect_eq(job_sweep_check(&s, &pipe_executor), 0, "%s", mon_errmsg());
  job_sweep_destroy(&s);
}

/* A bad value of any mapping setting fails the real checker, naming file:line, the key and what
 * was expected, before any job runs. */
Test(pipeline, bad_mapping_setting_is_rejected) {
  static const char *bad[][3] = {
      {"dense_layout", "diagonal", "interleaved or contiguous"},
      {"dense_row_split", "0", "integer in [1, 65536]"},
      {"share_rows", "yes", "integer in [0, 1]"},
      {"digital_lanes", "16.5", "integer in [1, 1048576]"},
      {"fold_permute", "2", "integer in [0, 1]"},
      {"adc_lossless", "-1", "integer in [0, 1]"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512], want[128];
    snprintf(text, sizeof text, "models = shape:zoo-shape\nnblocks = 4\noption.%s = %s\n",
             bad[i][0], bad[i][1]);
    job_sweep s;
    cr_assert_eq(job_sweep_parse(&s, "t.sweep", text), 0, "%s", mon_errmsg());
    cr_expect_eq(job_sweep_check(&s, &pipe_executor), -1, "option.%s = %s accepted", bad[i][0],
                 bad[i][1]);
    snprintf(want, sizeof want, "t.sweep:3: key 'option.%s'", bad[i][0]);
    cr_expect(strstr(mon_errmsg(), want) && strstr(mon_errmsg(), bad[i][2]), "%s", mon_errmsg());
    job_sweep_destroy(&s);
  }
}

/* A hardware file named relative to its sweep file is found by the check and by the run alike,
 * whatever the current directory. */
Test(pipeline, hardware_relative_to_the_sweep_file) {
  char dir[] = "/tmp/test_pipeline_hwXXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char hwp[256], swp[256], cmd[1024];
  snprintf(hwp, sizeof hwp, "%s/small.json", dir);
  snprintf(swp, sizeof swp, "%s/t.sweep", dir);
  snprintf(cmd, sizeof cmd, "cp '%s/configs/hw-default.json' '%s'", MONCIM_SOURCE_DIR, hwp);
  cr_assert_eq(system(cmd), 0);
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, swp,
                               "models = shape:zoo-shape\nhardware = small.json\nnblocks = 4\n"
                               "mappings = sparse\n"),
               0, "%s", mon_errmsg());
  cr_assert_eq(job_sweep_check(&s, &pipe_executor), 0, "%s", mon_errmsg());
  void *st;
  int nl;
  job_metrics m;
  job_layer L[64];
  cr_assert_eq(pipe_executor.create(&st, &s), 0, "%s", mon_errmsg());
  cr_assert_eq(pipe_executor.plan(st, &s.jobs[0], &nl), 0, "%s", mon_errmsg());
  cr_assert_eq(pipe_executor.run(st, &s.jobs[0], &m, L), 0, "%s", mon_errmsg());
  cr_expect_gt(m.arrays, 0);
  pipe_executor.destroy(st);
  job_sweep_destroy(&s);
  remove(hwp), rmdir(dir);
}
