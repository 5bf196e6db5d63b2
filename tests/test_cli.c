/* Tests of the moncim command line (bench/): runs the built binary (MONCIM_BIN) as a child
 * process and checks exit statuses, usage lines, the version's git commit, `moncim project`
 * against the in-process projection, JSON output against the tables, and that bad input files
 * fail with the file's name and never with a signal. */
#include <criterion/criterion.h>

#include "kernels.h"
#include "test_tmpdir.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void mk_tmpdir(void) {
  tmpdir_create("moncim_cli");
}
TestSuite(cli, .init = mk_tmpdir, .fini = tmpdir_remove);
TestSuite(cli_project, .init = mk_tmpdir, .fini = tmpdir_remove);
TestSuite(cli_bad_input, .init = mk_tmpdir, .fini = tmpdir_remove);

static const char *tpath(const char *name) {
  static char p[4][512];
  static int next;
  char *b = p[next++ % 4];
  snprintf(b, sizeof p[0], "%s/%s", tmpdir, name);
  return b;
}

/* ---------------------------------------------------------------- running the binary */

typedef struct {
  int status; /* exit status, or -1 if killed by a signal */
  int signal; /* the signal, or 0 */
  char *out;  /* stdout, NUL-terminated */
  char *err;  /* stderr */
} run_result;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  cr_assert_not_null(b);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  return b;
}

/* Runs MONCIM_BIN with the given arguments (NULL-terminated), stdout/stderr to files. */
static run_result run_args(const char *const *args) {
  char outp[512], errp[512]; /* not tpath(): its ring of buffers holds the caller's paths */
  snprintf(outp, sizeof outp, "%s/stdout.txt", tmpdir);
  snprintf(errp, sizeof errp, "%s/stderr.txt", tmpdir);
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)MONCIM_BIN;
  for (; args[n - 1] && n < 63; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0) _exit(126);
    dup2(fo, 1), dup2(fe, 2);
    close(fo), close(fe);
    execv(MONCIM_BIN, argv);
    _exit(127);
  }
  int ws;
  cr_assert_eq(waitpid(pid, &ws, 0), pid);
  run_result r = {.status = -1};
  if (WIFEXITED(ws)) r.status = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) r.signal = WTERMSIG(ws);
  r.out = slurp(outp);
  r.err = slurp(errp);
  return r;
}
#define RUN(...) run_args((const char *const[]){__VA_ARGS__, NULL})

static void run_free(run_result *r) {
  free(r->out);
  free(r->err);
}

/* The subcommand names listed by `moncim --help` (the lines after "commands:"). */
static int subcommands(char names[][32], int max) {
  run_result r = RUN("--help");
  cr_assert_eq(r.status, 0, "moncim --help: exit %d", r.status);
  char *p = strstr(r.out, "commands:\n");
  cr_assert_not_null(p, "moncim --help lists no commands:\n%s", r.out);
  p += strlen("commands:\n");
  int n = 0;
  char line[256];
  while (*p && n < max) {
    size_t len = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int)len, p);
    p += len + (p[len] == '\n');
    if (line[0] == '\0') break; /* the list ends at the first blank line */
    cr_assert(sscanf(line, " %31s", names[n]) == 1, "bad command line '%s'", line);
    n++;
  }
  run_free(&r);
  cr_assert_geq(n, 8, "expected at least the 8 foundation commands, got %d", n);
  return n;
}

/* ---------------------------------------------------------------- generic CLI behaviour */

Test(cli, every_subcommand_help_exits_0_with_usage_line) {
  char names[64][32];
  int n = subcommands(names, 64);
  int saw_project = 0;
  for (int i = 0; i < n; i++) {
    saw_project |= !strcmp(names[i], "project");
    run_result r = RUN(names[i], "--help");
    char want[64];
    snprintf(want, sizeof want, "usage: moncim %.31s", names[i]);
    cr_expect_eq(r.status, 0, "moncim %s --help: exit %d, stderr: %s", names[i], r.status, r.err);
    /* sweep's usage starts with the optional mpirun prefix */
    cr_expect(strstr(r.out, want) || (strstr(r.out, "usage:") && strstr(r.out, want + 7)),
              "moncim %s --help prints no usage line:\n%s", names[i], r.out);
    run_free(&r);
  }
  cr_expect(saw_project, "moncim --help does not list 'project'");
}

/* Every command answers an unknown option, a missing value and a malformed value with the
 * same words and exit status 2 (bench/options.c is the one parser). */
Test(cli, option_errors_read_the_same_in_every_command) {
  char names[64][32];
  int n = subcommands(names, 64);
  for (int i = 0; i < n; i++) {
    char want[256];
    run_result r = RUN(names[i], "--no-such-option");
    snprintf(want, sizeof want,
             "moncim %.31s: unknown option '--no-such-option'\nTry 'moncim %.31s --help'.\n",
             names[i], names[i]);
    cr_expect_eq(r.status, 2, "moncim %s --no-such-option: exit %d (signal %d)", names[i], r.status,
                 r.signal);
    cr_expect_str_eq(r.err, want, "moncim %s", names[i]);
    run_free(&r);
  }
  /* a value option as the last word, of a command with several kinds of options each */
  const char *missing[][2] = {
      {"simulate", "--positions"}, {"map", "--model"},  {"sweep", "--output"}, {"train", "--lr"},
      {"project", "-i"},           {"bench", "--size"}, {"mvm", "--noise"},    {"merge", "-o"}};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
    char want[256];
    run_result r = RUN(missing[i][0], missing[i][1]);
    snprintf(want, sizeof want, "moncim %s: option '%s' needs a value\nTry 'moncim %s --help'.\n",
             missing[i][0], missing[i][1], missing[i][0]);
    cr_expect_eq(r.status, 2, "moncim %s %s: exit %d", missing[i][0], missing[i][1], r.status);
    cr_expect_str_eq(r.err, want);
    run_free(&r);
  }
  run_result r = RUN("eval", "--positions=12x");
  cr_expect_eq(r.status, 2);
  cr_expect_str_eq(r.err, "moncim eval: --positions '12x': expected an integer in [1, 1073741824]\n"
                          "Try 'moncim eval --help'.\n");
  run_free(&r);
  r = RUN("report", "--json=1");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "option '--json' takes no value"), "%s", r.err);
  run_free(&r);
  r = RUN("no-such-command");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "no-such-command") != NULL, "%s", r.err);
  run_free(&r);
}

Test(cli, version_prints_git_commit) {
  /* The commit of the source tree, as the build bakes it in (cmake/GenVersion.cmake). */
  char cmd[1024], commit[64] = "";
  snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null", MONCIM_SOURCE_DIR);
  FILE *g = popen(cmd, "r");
  cr_assert_not_null(g);
  if (!fgets(commit, sizeof commit, g)) commit[0] = '\0';
  int git_ok = pclose(g) == 0 && commit[0];
  commit[strcspn(commit, "\n")] = '\0';
  if (!git_ok) snprintf(commit, sizeof commit, "unknown"); /* a tarball: no git */
  const char *forms[][2] = {{"--version", NULL}, {"version", NULL}};
  for (int i = 0; i < 2; i++) {
    run_result r = RUN(forms[i][0]);
    cr_expect_eq(r.status, 0);
    char want[96];
    snprintf(want, sizeof want, "(commit %s", commit);
    cr_expect(strncmp(r.out, "moncim ", 7) == 0 && strstr(r.out, want) != NULL,
              "moncim %s printed '%s', expected the commit %s (rebuild after committing?)",
              forms[i][0], r.out, commit);
    run_free(&r);
  }
}

/* ---------------------------------------------------------------- files for the tests */

/* Deterministic uniform(-1, 1) from a 64-bit LCG. */
static float urand(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(*st >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static float *rand_matrix(int out, int in, uint64_t seed) {
  float *w = malloc((size_t)out * in * sizeof *w);
  cr_assert_not_null(w);
  for (size_t i = 0; i < (size_t)out * in; i++) w[i] = urand(&seed);
  return w;
}

/* Writes one F32 tensor `name` (and a 3-D "cube" (2, 3, 4)) to path. */
static void write_weight(const char *path, const char *name, int out, int in, const float *w) {
  static float cube[24];
  int64_t sh[2] = {out, in}, sc[3] = {2, 3, 4};
  mon_st_writer *wr = mon_st_writer_create();
  cr_assert_not_null(wr);
  cr_assert_eq(mon_st_writer_add(wr, name, 2, sh, w), 0, "%s", mon_errmsg());
  cr_assert_eq(mon_st_writer_add(wr, "cube", 3, sc, cube), 0, "%s", mon_errmsg());
  cr_assert_eq(mon_st_writer_write(wr, path), 0, "%s", mon_errmsg());
  mon_st_writer_destroy(wr);
}

static cJSON *parse_json(const char *text, const char *what) {
  cJSON *j = cJSON_Parse(text);
  cr_assert_not_null(j, "%s: stdout is not valid JSON:\n%s", what, text);
  cr_assert(cJSON_IsObject(j), "%s: stdout is not one JSON object", what);
  return j;
}

static double jnum(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  cr_assert(cJSON_IsNumber(v), "JSON lacks the number '%s'", key);
  return v->valuedouble;
}

/* The value of a table row "label   value" (the label padded to a column). */
static double table_num(const char *table, const char *label) {
  const char *p = table;
  size_t n = strlen(label);
  while ((p = strstr(p, label))) {
    if ((p == table || p[-1] == '\n') && p[n] == ' ') return strtod(p + n, NULL);
    p += n;
  }
  cr_assert_fail("table lacks the row '%s':\n%s", label, table);
  return NAN;
}

static int close_rel(double a, double b, double tol) {
  return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)) + 1e-30;
}

/* Loads the factors written by `moncim project` back into a Monarch matrix (out, in). */
static void load_factors(const char *path, const char *n1, const char *n2, int out, int in,
                         mon_monarch *m) {
  mon_safetensors st;
  cr_assert_eq(mon_st_open(&st, path), 0, "%s", mon_errmsg());
  const mon_tensor *a = mon_st_find(&st, n1), *b = mon_st_find(&st, n2);
  cr_assert(a && b && a->ndim == 3 && b->ndim == 3, "%s lacks 3-D %s / %s", path, n1, n2);
  cr_assert_eq(mon_monarch_create_shaped(m, out, in, (int)a->shape[0], (int)a->shape[1],
                                         (int)a->shape[2], (int)b->shape[0], (int)b->shape[1],
                                         (int)b->shape[2]),
               0, "%s", mon_errmsg());
  float *f1, *f2;
  cr_assert_eq(mon_st_read_f32(&st, n1, 0, NULL, &f1), 0);
  cr_assert_eq(mon_st_read_f32(&st, n2, 0, NULL, &f2), 0);
  memcpy(m->w1, f1, mon_monarch_w1_len(m) * sizeof(float));
  memcpy(m->w2, f2, mon_monarch_w2_len(m) * sizeof(float));
  free(f1), free(f2);
  char want[32];
  snprintf(want, sizeof want, "%d", out);
  cr_expect_str_eq(mon_st_meta_get(&st, "out"), want);
  snprintf(want, sizeof want, "%d", in);
  cr_expect_str_eq(mon_st_meta_get(&st, "in"), want);
  mon_st_close(&st);
}

static double rel_diff_fro(const float *a, const float *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return sqrt(num / den);
}

/* ---------------------------------------------------------------- moncim project */

Test(cli_project, exact_monarch_is_recovered) {
  const int out = 96, in = 96, nb = 4;
  mon_monarch m0;
  cr_assert_eq(mon_monarch_create(&m0, out, in, nb), 0);
  uint64_t seed = 42;
  for (size_t i = 0; i < mon_monarch_w1_len(&m0); i++) m0.w1[i] = urand(&seed);
  for (size_t i = 0; i < mon_monarch_w2_len(&m0); i++) m0.w2[i] = urand(&seed);
  float *w = malloc((size_t)out * in * sizeof *w), *back = malloc((size_t)out * in * sizeof *w);
  mon_monarch_to_dense(&m0, w);
  const char *inp = tpath("exact.safetensors"), *outp = tpath("exact_m.safetensors");
  write_weight(inp, "layer.weight", out, in, w);

  run_result r = RUN("project", "--in", inp, "--tensor", "layer.weight", "--nblocks", "4", "--out",
                     outp, "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cJSON *j = parse_json(r.out, "project --json");
  cr_expect_lt(jnum(j, "rel_err"), 1e-5, "rel_err %g", jnum(j, "rel_err"));
  cr_expect_eq(jnum(j, "nblocks"), nb);
  cr_expect_eq(jnum(j, "dense_params"), out * in);
  cr_expect_eq(jnum(j, "monarch_params"), 2 * out * in / nb, "square: density 2/nblocks");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "energy_ok")));
  cJSON_Delete(j);
  run_free(&r);

  /* The written factors materialize back to W (default names: exactly blkdiag1 / blkdiag2). */
  mon_monarch m1;
  load_factors(outp, "blkdiag1", "blkdiag2", out, in, &m1);
  mon_monarch_to_dense(&m1, back);
  cr_expect_lt(rel_diff_fro(back, w, (size_t)out * in), 1e-5);
  mon_monarch_destroy(&m0), mon_monarch_destroy(&m1);
  free(w), free(back);
}

/* A random matrix (rectangular, padded when nb does not divide a size): the CLI reports what
 * mon_monarch_project computes in-process, its table and JSON agree, and the file holds M. */
static void check_random(int out, int in, int nb, const char *prefix) {
  float *w = rand_matrix(out, in, 1000 + (uint64_t)(out * 7 + in + nb));
  const char *inp = tpath("rand.safetensors"), *outp = tpath("rand_m.safetensors");
  write_weight(inp, "w", out, in, w);
  mon_monarch ref;
  mon_project_info pi;
  cr_assert_eq(mon_monarch_project(w, out, in, nb, &ref, &pi), 0, "%s", mon_errmsg());

  char nbs[16];
  snprintf(nbs, sizeof nbs, "%d", nb);
  run_result rj = prefix ? RUN("project", "-i", inp, "-t", "w", "-b", nbs, "-o", outp, "--json",
                               "--prefix", prefix)
                         : RUN("project", "-i", inp, "-t", "w", "-b", nbs, "-o", outp, "--json");
  cr_assert_eq(rj.status, 0, "exit %d: %s", rj.status, rj.err);
  run_result rt = RUN("project", "--in", inp, "--tensor", "w", "--nblocks", nbs, "--out", outp);
  cr_assert_eq(rt.status, 0, "exit %d: %s", rt.status, rt.err);
  cJSON *j = parse_json(rj.out, "project --json");

  /* In-process equals CLI: the same kernel on the same data; summation order across OpenMP
   * threads may differ, so 1e-6 relative (float SVD rounding is ~1e-7). */
  cr_expect(close_rel(jnum(j, "rel_err"), pi.rel_err, 1e-6), "rel_err CLI %.9g vs in-process %.9g",
            jnum(j, "rel_err"), pi.rel_err);
  cr_expect(close_rel(jnum(j, "discarded_sq"), pi.discarded_sq, 1e-6));
  cr_expect(close_rel(jnum(j, "norm_fro"), pi.norm_fro, 1e-9));
  cr_expect_gt(pi.rel_err, 0.1, "a random matrix is far from Monarch (rel err %g)", pi.rel_err);
  /* ||W - M||^2 = discarded sigma^2, also with zero padding (nb not dividing the sizes). */
  cr_expect_lt(jnum(j, "energy_rel_diff"), 1e-5, "energy identity off by %g of ||W||^2",
               jnum(j, "energy_rel_diff"));

  /* Table and JSON carry the same numbers (the table prints 9 significant digits). */
  struct {
    const char *row, *key;
  } same[] = {{"relative Frobenius error", "rel_err"},
              {"||W||_F", "norm_fro"},
              {"||W - M||_F", "err_fro"},
              {"dense params", "dense_params"},
              {"monarch params", "monarch_params"},
              {"param reduction (dense/monarch)", "param_reduction"},
              {"discarded energy (sum sigma^2)", "discarded_sq"},
              {"kept energy (sum sigma^2)", "kept_sq"},
              {"nblocks", "nblocks"}};
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
    cr_expect(close_rel(table_num(rt.out, same[i].row), jnum(j, same[i].key), 1e-6),
              "table '%s' = %.9g but JSON %s = %.9g", same[i].row, table_num(rt.out, same[i].row),
              same[i].key, jnum(j, same[i].key));
  cr_expect(strstr(rt.out, "VALID") && !strstr(rt.out, "INVALID"), "%s", rt.out);
  /* cJSON prints 15 significant digits */
  cr_expect(close_rel(jnum(j, "param_reduction"),
                      jnum(j, "dense_params") / jnum(j, "monarch_params"), 1e-14));

  /* The file of the JSON run (prefixed names) holds the same M as the in-process projection. */
  char n1[64], n2[64];
  snprintf(n1, sizeof n1, "%s%sblkdiag1", prefix ? prefix : "", prefix ? "." : "");
  snprintf(n2, sizeof n2, "%s%sblkdiag2", prefix ? prefix : "", prefix ? "." : "");
  /* The JSON run wrote outp first, then the table run rewrote it with default names. */
  cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(j, "blkdiag1_name")->valuestring, n1);
  mon_monarch m1;
  load_factors(outp, "blkdiag1", "blkdiag2", out, in, &m1);
  float *a = malloc((size_t)out * in * sizeof *a), *b = malloc((size_t)out * in * sizeof *b);
  mon_monarch_to_dense(&m1, a);
  mon_monarch_to_dense(&ref, b);
  cr_expect_lt(rel_diff_fro(a, b, (size_t)out * in), 1e-5);
  /* ... and its error against W is the reported one. */
  cr_expect(close_rel(rel_diff_fro(a, w, (size_t)out * in), pi.rel_err, 1e-5));
  cJSON_Delete(j);
  run_free(&rj), run_free(&rt);
  mon_monarch_destroy(&m1), mon_monarch_destroy(&ref);
  free(a), free(b), free(w);
}

Test(cli_project, random_square_matches_in_process) {
  check_random(128, 128, 8, NULL);
}
Test(cli_project, random_rectangular_padded_matches_in_process) {
  check_random(120, 360, 7, "h.0.mlp.c_fc");
}

Test(cli_project, prefix_names_the_factors) {
  float *w = rand_matrix(64, 64, 5);
  const char *inp = tpath("p.safetensors"), *outp = tpath("p_m.safetensors");
  write_weight(inp, "w", 64, 64, w);
  run_result r = RUN("project", "-i", inp, "-t", "w", "-b", "8", "-o", outp, "-p", "h.1.attn");
  cr_assert_eq(r.status, 0, "%s", r.err);
  mon_monarch m;
  load_factors(outp, "h.1.attn.blkdiag1", "h.1.attn.blkdiag2", 64, 64, &m);
  mon_safetensors st;
  cr_assert_eq(mon_st_open(&st, outp), 0);
  cr_expect_str_eq(mon_st_meta_get(&st, "source_tensor"), "w");
  cr_expect_str_eq(mon_st_meta_get(&st, "source_file"), inp);
  cr_expect_str_eq(mon_st_meta_get(&st, "nblocks"), "8");
  cr_expect_not_null(mon_st_meta_get(&st, "rel_err"));
  mon_st_close(&st);
  mon_monarch_destroy(&m);
  run_free(&r);
  free(w);
}

/* ---------------------------------------------------------------- moncim info --json */

Test(cli, info_json_holds_the_shapes) {
  float *w = rand_matrix(12, 34, 9);
  const char *p = tpath("info.safetensors");
  write_weight(p, "blk.weight", 12, 34, w);
  free(w);
  run_result r = RUN("info", p, "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cJSON *j = parse_json(r.out, "info --json");
  const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "tensors");
  cr_assert(cJSON_IsArray(ts));
  cr_expect_eq(cJSON_GetArraySize(ts), 2);
  int found = 0;
  const cJSON *t;
  cJSON_ArrayForEach(t, ts) {
    const char *name = cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    cr_assert(cJSON_IsArray(sh));
    if (!strcmp(name, "blk.weight")) {
      found++;
      cr_expect_eq(cJSON_GetArraySize(sh), 2);
      cr_expect_eq(cJSON_GetArrayItem(sh, 0)->valuedouble, 12);
      cr_expect_eq(cJSON_GetArrayItem(sh, 1)->valuedouble, 34);
      cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, "F32");
    } else if (!strcmp(name, "cube")) {
      found++;
      cr_expect_eq(cJSON_GetArraySize(sh), 3);
      cr_expect_eq(cJSON_GetArrayItem(sh, 2)->valuedouble, 4);
    }
  }
  cr_expect_eq(found, 2);
  cJSON_Delete(j);
  run_free(&r);
}

/* ---------------------------------------------------------------- bad inputs */

/* A nonzero exit (the given one if > 0) without a signal, and stderr naming every word. */
static void expect_failure(run_result *r, int want_status, const char *w1, const char *w2) {
  cr_expect_eq(r->signal, 0, "killed by signal %d; stderr: %s", r->signal, r->err);
  if (want_status > 0)
    cr_expect_eq(r->status, want_status, "exit %d, expected %d; stderr: %s", r->status, want_status,
                 r->err);
  else
    cr_expect(r->status > 0, "exit %d for bad input", r->status);
  cr_expect(strstr(r->err, w1) != NULL, "stderr lacks '%s': %s", w1, r->err);
  if (w2) cr_expect(strstr(r->err, w2) != NULL, "stderr lacks '%s': %s", w2, r->err);
  run_free(r);
}

Test(cli_bad_input, missing_file) {
  const char *p = tpath("does-not-exist.safetensors"), *o = tpath("o.safetensors");
  run_result r = RUN("info", p);
  expect_failure(&r, 1, p, NULL);
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "2", "--out", o);
  expect_failure(&r, 1, p, NULL);
  cr_expect_neq(access(o, F_OK), 0, "no output after a failure");
}

Test(cli_bad_input, truncated_safetensors) {
  float *w = rand_matrix(32, 32, 3);
  const char *good = tpath("good.safetensors"), *o = tpath("o.safetensors");
  write_weight(good, "w", 32, 32, w);
  free(w);
  char *all;
  FILE *f = fopen(good, "rb");
  struct stat sb;
  cr_assert_eq(stat(good, &sb), 0);
  all = malloc((size_t)sb.st_size);
  cr_assert_eq(fread(all, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
  fclose(f);
  /* Cut inside the data area, inside the header, and inside the length prefix. */
  const size_t cuts[] = {(size_t)sb.st_size - 100, 40, 5};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "cut%zu.safetensors", cuts[i]);
    const char *p = tpath(name);
    FILE *g = fopen(p, "wb");
    cr_assert_eq(fwrite(all, 1, cuts[i], g), cuts[i]);
    fclose(g);
    run_result r = RUN("info", p, "--json");
    expect_failure(&r, 1, p, NULL);
    r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "2", "--out", o);
    expect_failure(&r, 1, p, NULL);
  }
  free(all);
}

Test(cli_bad_input, project_errors_name_the_field) {
  float *w = rand_matrix(16, 24, 4);
  const char *p = tpath("w.safetensors"), *o = tpath("o.safetensors");
  write_weight(p, "w", 16, 24, w);
  free(w);
  run_result r = RUN("project", "--in", p, "--tensor", "nope", "--nblocks", "2", "--out", o);
  expect_failure(&r, 1, "nope", p);
  r = RUN("project", "--in", p, "--tensor", "cube", "--nblocks", "2", "--out", o);
  expect_failure(&r, 1, "cube", "2-D");
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "17", "--out", o);
  expect_failure(&r, 1, "--nblocks", "16"); /* larger than out = 16 */
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "0", "--out", o);
  expect_failure(&r, 2, "--nblocks", NULL);
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "x3", "--out", o);
  expect_failure(&r, 2, "--nblocks", NULL);
  r = RUN("project", "--in", p, "--nblocks", "2", "--out", o);
  expect_failure(&r, 2, "--tensor", NULL);
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "2");
  expect_failure(&r, 2, "--out", NULL);
  cr_expect_neq(access(o, F_OK), 0, "no output after a failure");
  /* An unwritable output: nonzero, the path named. */
  r = RUN("project", "--in", p, "--tensor", "w", "--nblocks", "2", "--out",
          "/nonexistent-dir/o.safetensors");
  expect_failure(&r, 1, "/nonexistent-dir/o.safetensors", NULL);
}

Test(cli_bad_input, report_missing_and_truncated_h5) {
  const char *missing = tpath("missing.h5"), *cut = tpath("cut.h5");
  run_result r = RUN("report", missing);
  expect_failure(&r, 0, missing, NULL);
  /* The HDF5 signature followed by a superblock cut short. */
  static const unsigned char sig[] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};
  FILE *f = fopen(cut, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(sig, 1, sizeof sig, f), sizeof sig);
  fclose(f);
  r = RUN("report", cut, "--json");
  expect_failure(&r, 0, cut, NULL);
}

/* `moncim bench mvm --json`: one JSON object, a row per mapping, the ideal self-check valid; and
 * `--noise none` names the ideal device as it does in sweep files. */
Test(cli, bench_mvm_json) {
  run_result r = RUN("bench", "mvm", "--size", "64", "--nblocks", "4", "--batch", "4", "--repeat",
                     "1", "--noise", "none", "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cJSON *j = parse_json(r.out, "bench mvm --json");
  cr_expect_eq(jnum(j, "size"), 64);
  const cJSON *cases = cJSON_GetObjectItem(j, "cases");
  cr_assert(cJSON_IsArray(cases));
  cr_expect_eq(cJSON_GetArraySize(cases), 3);
  const char *want[] = {"linear", "sparse", "dense"};
  for (int i = 0; i < cJSON_GetArraySize(cases); i++) {
    const cJSON *c = cJSON_GetArrayItem(cases, i);
    cr_expect_str_eq(cJSON_GetObjectItem(c, "mapping")->valuestring, want[i]);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(c, "valid")));
    cr_expect_gt(jnum(c, "sim_gmacs_median"), 0);
  }
  cJSON_Delete(j);
  run_free(&r);
}

/* `moncim simulate` runs the pipeline: lossless converters and 16-bit weights and inputs
 * reproduce the float model, and `--noise none` is the ideal device (the self-check runs). */
Test(cli, simulate_ideal_is_valid) {
  run_result r = RUN("simulate", "--model", MONCIM_SOURCE_DIR "/models/kjv-nb8", "--positions",
                     "64", "--lossless", "--w-bits", "16", "--in-bits", "16", "--noise", "none",
                     "--mapping", "dense", "--json");
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
  cJSON *j = parse_json(r.out, "simulate --json");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(j, "valid")), "no passing self-check:\n%s", r.out);
  cr_expect_str_eq(cJSON_GetObjectItem(j, "noise")->valuestring, "");
  cr_expect_eq(jnum(j, "positions"), 64);
  cr_expect_eq(jnum(j, "agreement"), 1.0);
  cr_expect(fabs(jnum(j, "bpc") - jnum(j, "bpc_float")) < 1e-4);
  cr_expect_gt(jnum(j, "energy_pj"), 0);
  cJSON_Delete(j);
  run_free(&r);
}
