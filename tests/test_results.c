/* Tests of results/: the HDF5 schema round trip, the write protocol, resume checks, merge, and
 * the report's Pareto front. No MPI (the writer does not need it). */
#include <criterion/criterion.h>

#include "jobs.h"
#include "base.h"
#include "results.h"

#include <cjson/cJSON.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *SWEEP = "models = syn:x1, syn:x2\nnblocks = 2, 4\nmappings = sparse, dense\n"
                           "adc_bits = 3..5\nseeds = 1, 2\n";

static char dir[256];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/moncim_test_results_%d", (int)getpid());
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
  cr_assert_eq(system(cmd), 0);
}

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) {
  }
}

static void path(char *buf, const char *name) {
  snprintf(buf, 512, "%s/%s", dir, name);
}

static res_run_row run0(void) {
  res_run_row r;
  memset(&r, 0, sizeof r);
  snprintf(r.kind, sizeof r.kind, "sweep");
  snprintf(r.command_line, sizeof r.command_line, "test");
  r.ranks = r.threads = 1;
  r.start_unix = res_now_unix();
  r.end_unix = NAN;
  res_iso_time(r.start_unix, r.start_time, sizeof r.start_time);
  return r;
}

/* Creates a file for s with the synthetic executor's layout. */
static void create(const char *p, const job_sweep *s, void *st) {
  int32_t *nl = malloc((size_t)s->njobs * sizeof *nl);
  for (int64_t i = 0; i < s->njobs; i++) {
    int n;
    cr_assert_eq(job_executor_synthetic.plan(st, &s->jobs[i], &n), 0);
    nl[i] = n;
  }
  res_run_row r = run0();
  cr_assert_eq(res_create(p, s, nl, &r), 0, "%s", mon_errmsg());
  free(nl);
}

/* Runs job i with the synthetic executor and writes it. */
static void do_job(res_file *f, const job_sweep *s, void *st, int64_t i, int rank) {
  res_row row;
  job_layer jl[64];
  res_layer_row lr[64];
  int nl;
  job_executor_synthetic.plan(st, &s->jobs[i], &nl);
  res_row_init(&row, &s->jobs[i], 0, nl);
  cr_assert_eq(job_executor_synthetic.run(st, &s->jobs[i], &row.m, jl), 0);
  for (int l = 0; l < nl; l++) lr[l] = (res_layer_row){.job_index = i, .layer = l, .l = jl[l]};
  row.status = RES_DONE;
  row.rank = rank;
  row.wall_s = 0.1 * rank;
  row.run = 0;
  cr_assert_eq(res_write_job(f, &row, lr), 0, "%s", mon_errmsg());
}

TestSuite(results, .init = setup, .fini = teardown);

Test(results, round_trip_and_pending_rows) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char p[512];
  path(p, "a.h5");
  create(p, &s, st);
  res_file *f;
  cr_assert_eq(res_open(&f, p, &s), 0, "%s", mon_errmsg());
  cr_assert_eq(res_njobs(f), s.njobs);
  for (int64_t i = 0; i < s.njobs; i++) cr_assert_eq(res_job_status(f, i), RES_PENDING);
  for (int64_t i = 0; i < s.njobs; i += 3) do_job(f, &s, st, i, 1);
  cr_assert_eq(res_close(f), 0);

  res_data d;
  cr_assert_eq(res_read(&d, p), 0, "%s", mon_errmsg());
  cr_assert_eq(d.njobs, s.njobs);
  cr_assert_str_eq(d.sweep_text, SWEEP);
  cr_assert_eq(d.list_hash, job_sweep_list_hash(&s));
  int64_t lfirst = 0;
  for (int64_t i = 0; i < s.njobs; i++) {
    const res_row *r = &d.jobs[i];
    cr_assert_eq(r->p.index, i);
    cr_assert_eq(r->p.id, s.jobs[i].id); /* job_id hex round trip */
    cr_assert_str_eq(r->p.model, s.jobs[i].model);
    cr_assert_eq(r->p.adc_bits, s.jobs[i].adc_bits);
    cr_assert_eq(r->layer_first, lfirst, "layer rows are laid out back to back");
    lfirst += r->layer_count;
    if (i % 3 == 0) {
      cr_assert_eq(r->status, RES_DONE);
      job_metrics m;
      job_layer jl[64];
      job_executor_synthetic.run(st, &s.jobs[i], &m, jl);
      cr_assert_eq(memcmp(&m, &r->m, sizeof m), 0, "metrics round trip bit-exactly");
      for (int l = 0; l < r->layer_count; l++) {
        const res_layer_row *L = &d.layers[r->layer_first + l];
        cr_assert_eq(L->job_index, i);
        cr_assert_eq(L->layer, l);
        cr_assert_str_eq(L->l.name, jl[l].name);
        cr_assert_eq(L->l.energy_pj, jl[l].energy_pj);
      }
    } else {
      cr_assert_eq(r->status, RES_PENDING);
      cr_assert(isnan(r->m.bpc) && isnan(r->m.energy_pj));
      cr_assert(isnan(d.layers[r->layer_first].l.energy_pj));
      cr_assert_eq(d.layers[r->layer_first].job_index, i, "pending layer rows name their job");
    }
  }
  cr_assert_eq(d.nlayers, lfirst);
  cr_assert_eq(d.nruns, 1);
  res_data_free(&d);
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
}

Test(results, open_refuses_another_sweep_and_layout_mismatch) {
  job_sweep s, t;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  cr_assert_eq(job_sweep_parse(&t, "u.sweep", "models = syn:x1\nseeds = 1, 2, 3\n"), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char p[512];
  path(p, "b.h5");
  create(p, &s, st);
  res_file *f;
  cr_assert_eq(res_open(&f, p, &t), -1);
  cr_assert(strstr(mon_errmsg(), "different sweep"), "%s", mon_errmsg());
  cr_assert_eq(res_open(&f, p, &s), 0);
  res_row row;
  res_row_init(&row, &s.jobs[0], 0, res_layer_count(f, 0) + 1);
  row.status = RES_DONE;
  res_layer_row lr[64] = {{0}};
  cr_assert_eq(res_write_job(f, &row, lr), -1);
  cr_assert(strstr(mon_errmsg(), "reserved"), "%s", mon_errmsg());
  cr_assert_eq(res_close(f), 0);
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
  job_sweep_destroy(&t);
}

Test(results, outputs_are_never_overwritten_silently) {
  char p[512], bad[600];
  path(p, "exists.h5");
  FILE *fp = fopen(p, "w");
  fputs("precious", fp);
  fclose(fp);
  cr_assert_eq(res_check_writable(p, 0), -1);
  cr_assert(strstr(mon_errmsg(), "--force"), "%s", mon_errmsg());
  cr_assert_eq(res_check_writable(p, 1), 0);
  fp = fopen(p, "r");
  char buf[16] = "";
  cr_assert_not_null(fgets(buf, sizeof buf, fp));
  fclose(fp);
  cr_assert_str_eq(buf, "precious", "the check itself must not touch the file");
  snprintf(bad, sizeof bad, "%s/x.h5", p); /* a regular file used as a directory */
  cr_assert_eq(res_check_writable(bad, 1), -1);
  cr_assert(strstr(mon_errmsg(), "cannot create output"), "%s", mon_errmsg());
}

Test(results, runs_and_ranks_are_appended) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char p[512];
  path(p, "c.h5");
  create(p, &s, st);
  res_run_row r = run0();
  snprintf(r.kind, sizeof r.kind, "resume");
  cr_assert_eq(res_begin_run(p, &r), 0, "%s", mon_errmsg());
  cr_assert_eq(r.run, 1);
  r.end_unix = r.start_unix + 1;
  res_iso_time(r.end_unix, r.end_time, sizeof r.end_time);
  r.jobs_run = 7;
  res_rank_row k[2] = {{.run = 1, .rank = 0, .busy_s = 1}, {.run = 1, .rank = 1, .busy_s = 2}};
  cr_assert_eq(res_end_run(p, &r, k, 2), 0, "%s", mon_errmsg());
  cr_assert_eq(access("/nonexistent", F_OK), -1);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  cr_assert_eq(access(tmp, F_OK), -1, "the temporary copy is gone after the rename");
  res_data d;
  cr_assert_eq(res_read(&d, p), 0, "%s", mon_errmsg());
  cr_assert_eq(d.nruns, 2);
  cr_assert_str_eq(d.runs[1].kind, "resume");
  cr_assert_eq(d.runs[1].jobs_run, 7);
  cr_assert(isnan(d.runs[0].end_unix), "run 0 never ended (as after a kill)");
  cr_assert_eq(d.nranks, 2);
  cr_assert_eq(d.ranks[1].busy_s, 2);
  res_data_free(&d);
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
}

Test(results, merge_of_parts_equals_the_whole) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char whole[512], p0[512], p1[512], m[512];
  path(whole, "whole.h5"), path(p0, "p0.h5"), path(p1, "p1.h5"), path(m, "m.h5");
  const char *names[] = {whole, p0, p1};
  for (int k = 0; k < 3; k++) create(names[k], &s, st);
  res_file *f;
  cr_assert_eq(res_open(&f, whole, &s), 0);
  for (int64_t i = 0; i < s.njobs; i++) do_job(f, &s, st, i, 0);
  res_close(f);
  for (int part = 0; part < 2; part++) {
    cr_assert_eq(res_open(&f, part ? p1 : p0, &s), 0);
    for (int64_t i = part; i < s.njobs; i += 2) do_job(f, &s, st, i, 3 + part);
    if (part == 1) do_job(f, &s, st, 0, 7); /* job 0 in both parts: must agree */
    res_close(f);
  }
  const char *parts[] = {p0, p1};
  res_run_row r = run0();
  cr_assert_eq(res_merge(m, parts, 1, 0, 0, &r), -1, "half the jobs are missing");
  cr_assert(strstr(mon_errmsg(), "done in none"), "%s", mon_errmsg());
  cr_assert_eq(res_merge(m, parts, 2, 0, 0, &r), 0, "%s", mon_errmsg());
  res_data a, b;
  cr_assert_eq(res_read(&a, whole), 0);
  cr_assert_eq(res_read(&b, m), 0);
  cr_assert_eq(a.njobs, b.njobs);
  cr_assert_eq(a.nlayers, b.nlayers);
  for (int64_t i = 0; i < a.njobs; i++) {
    cr_assert(!res_row_differs(&a.jobs[i], &b.jobs[i]), "job %lld differs", (long long)i);
    cr_assert_eq(b.jobs[i].rank, i == 0 ? 3 : 3 + (int)(i % 2), "run columns come from the part");
  }
  for (int64_t l = 0; l < a.nlayers; l++) cr_assert(!res_layer_differs(&a.layers[l], &b.layers[l]));
  cr_assert_eq(b.nruns, 3); /* the merge + one run per part */
  res_data_free(&a);
  res_data_free(&b);

  /* A part that disagrees on a job is refused. */
  cr_assert_eq(res_open(&f, p1, &s), 0);
  res_row row;
  job_layer jl[64];
  res_layer_row lr[64];
  int nl;
  job_executor_synthetic.plan(st, &s.jobs[0], &nl);
  res_row_init(&row, &s.jobs[0], 0, nl);
  job_executor_synthetic.run(st, &s.jobs[0], &row.m, jl);
  for (int l = 0; l < nl; l++) lr[l] = (res_layer_row){.job_index = 0, .layer = l, .l = jl[l]};
  row.m.bpc += 1e-12;
  row.status = RES_DONE;
  cr_assert_eq(res_write_job(f, &row, lr), 0);
  res_close(f);
  cr_assert_eq(res_merge(m, parts, 2, 1, 0, &r), -1);
  cr_assert(strstr(mon_errmsg(), "different results"), "%s", mon_errmsg());
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
}

/* The report's Pareto front: area increasing, bpc strictly decreasing, and every other
 * configuration dominated by a front member. */
Test(results, report_pareto_front_is_the_nondominated_set) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char p[512], out[512];
  path(p, "r.h5"), path(out, "r.json");
  create(p, &s, st);
  res_file *f;
  cr_assert_eq(res_open(&f, p, &s), 0);
  for (int64_t i = 0; i < s.njobs; i++) do_job(f, &s, st, i, 0);
  res_close(f);
  res_data d;
  cr_assert_eq(res_read(&d, p), 0);
  FILE *fp = fopen(out, "w+");
  cr_assert_eq(res_report(&d, fp, 1), 0);
  rewind(fp);
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  cJSON *j = cJSON_Parse(text);
  cr_assert_not_null(j, "report --json is not JSON");
  cJSON *front = cJSON_GetObjectItem(j, "pareto_accuracy_area");
  cJSON *all = cJSON_GetObjectItem(j, "accuracy_vs_adc_bits");
  cr_assert_gt(cJSON_GetArraySize(front), 1);
  cr_assert_eq(cJSON_GetArraySize(all), s.njobs / 2, "one configuration per seed pair");
  double prev_a = -1, prev_b = INFINITY;
  cJSON *e;
  cJSON_ArrayForEach(e, front) {
    double a = cJSON_GetObjectItem(e, "area_mm2")->valuedouble;
    double b = cJSON_GetObjectItem(e, "bpc")->valuedouble;
    cr_assert(a >= prev_a && b < prev_b);
    prev_a = a, prev_b = b;
  }
  cJSON_ArrayForEach(e, all) {
    double a = cJSON_GetObjectItem(e, "area_mm2")->valuedouble;
    double b = cJSON_GetObjectItem(e, "bpc")->valuedouble;
    int dominated_or_on = 0;
    cJSON *g;
    cJSON_ArrayForEach(g, front) {
      dominated_or_on |= cJSON_GetObjectItem(g, "area_mm2")->valuedouble <= a &&
                         cJSON_GetObjectItem(g, "bpc")->valuedouble <= b;
    }
    cr_assert(dominated_or_on, "a configuration (area %g, bpc %g) beats the front", a, b);
  }
  cr_assert_eq(cJSON_GetObjectItem(j, "done")->valuedouble, (double)s.njobs);
  cJSON_Delete(j);
  res_data_free(&d);
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
}

/* The type of a column as SCHEMA.md writes it. */
static void schema_type(const res_column *c, char *buf, size_t n) {
  switch (c->type) {
  case RES_T_I8:
    snprintf(buf, n, "int8");
    break;
  case RES_T_I32:
    snprintf(buf, n, "int32");
    break;
  case RES_T_I64:
    snprintf(buf, n, "int64");
    break;
  case RES_T_F64:
    snprintf(buf, n, "float64");
    break;
  case RES_T_STR:
    snprintf(buf, n, "S%zu", c->size);
    break;
  case RES_T_STATUS:
    snprintf(buf, n, "enum int8");
    break;
  }
}

/* Trims the spaces around a table cell in place. */
static char *cell(char *s) {
  while (*s == ' ') s++;
  char *e = s + strlen(s);
  while (e > s && e[-1] == ' ') *--e = 0;
  return s;
}

/* The table under "#### `/NAME` columns" in SCHEMA.md lists exactly the columns of the code's
 * table, in order, with the same type, unit, run flag and meaning. */
static void check_schema_table(const char *md, const char *ds, const res_column *cols, int n) {
  char head[64];
  snprintf(head, sizeof head, "#### `/%s` columns", ds);
  const char *p = strstr(md, head);
  cr_assert_not_null(p, "SCHEMA.md has no section '%s'", head);
  p = strstr(p, "|---|");
  cr_assert_not_null(p);
  p = strchr(p, '\n') + 1;
  int i = 0;
  while (*p == '|') {
    const char *eol = strchr(p, '\n');
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
    char *f[6] = {0}, *save = NULL;
    int nf = 0;
    for (char *t = strtok_r(line, "|", &save); t && nf < 6; t = strtok_r(NULL, "|", &save))
      f[nf++] = cell(t);
    cr_assert_eq(nf, 5, "/%s: row '%.*s' does not have 5 cells", ds, (int)(eol - p), p);
    cr_assert_lt(i, n, "/%s: SCHEMA.md documents a column the code does not have: %s", ds, f[0]);
    const res_column *c = &cols[i];
    char name[80], type[32];
    snprintf(name, sizeof name, "`%s`", c->name);
    schema_type(c, type, sizeof type);
    cr_expect_str_eq(f[0], name, "/%s column %d", ds, i);
    cr_expect_str_eq(f[1], type, "/%s %s: type", ds, c->name);
    cr_expect_str_eq(f[2], c->unit, "/%s %s: unit", ds, c->name);
    cr_expect_str_eq(f[3], c->run ? "run" : "", "/%s %s: run flag", ds, c->name);
    cr_expect_str_eq(f[4], c->doc, "/%s %s: meaning", ds, c->name);
    i++;
    p = eol + 1;
  }
  cr_expect_eq(i, n, "/%s: SCHEMA.md documents %d columns, the code has %d", ds, i, n);
}

Test(results, schema_md_matches_the_column_tables) {
  FILE *f = fopen(MONCIM_SOURCE_DIR "/results/SCHEMA.md", "rb");
  cr_assert_not_null(f);
  static char md[1 << 16];
  size_t n = fread(md, 1, sizeof md - 1, f);
  fclose(f);
  md[n] = 0;
  check_schema_table(md, "jobs", res_job_columns, res_njob_columns);
  check_schema_table(md, "layers", res_layer_columns, res_nlayer_columns);
  check_schema_table(md, "runs", res_run_columns, res_nrun_columns);
  check_schema_table(md, "ranks", res_rank_columns, res_nrank_columns);
  char v[64];
  snprintf(v, sizeof v, "(schema version %d)", RES_SCHEMA_VERSION);
  cr_expect(strstr(md, v), "SCHEMA.md title names schema version %d", RES_SCHEMA_VERSION);
}

/* A file whose /jobs rows have other columns (another schema version) is refused on resume,
 * instead of rows being written through a type conversion that drops or zero-fills columns. */
Test(results, open_refuses_other_columns) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "t.sweep", SWEEP), 0);
  void *st;
  job_executor_synthetic.create(&st, &s);
  char p[512];
  path(p, "cols.h5");
  create(p, &s, st);
  hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  cr_assert_geq(f, 0);
  cr_assert_geq(H5Ldelete(f, "jobs", H5P_DEFAULT), 0);
  hid_t t = H5Tcreate(H5T_COMPOUND, 8);
  H5Tinsert(t, "job_index", 0, H5T_NATIVE_INT64);
  hsize_t dim = (hsize_t)s.njobs;
  hid_t sp = H5Screate_simple(1, &dim, NULL);
  hid_t d = H5Dcreate2(f, "jobs", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  cr_assert_geq(d, 0);
  H5Dclose(d), H5Sclose(sp), H5Tclose(t), H5Fclose(f);
  res_file *rf;
  cr_assert_eq(res_open(&rf, p, &s), -1);
  cr_assert(strstr(mon_errmsg(), "other columns"), "%s", mon_errmsg());
  job_executor_synthetic.destroy(st);
  job_sweep_destroy(&s);
}
