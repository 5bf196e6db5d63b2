/* moncim project: the nearest Monarch matrix to one dense weight of a safetensors file
 * (mon_monarch_project), written as blkdiag1 / blkdiag2 with its provenance, and a table (or
 * JSON) of the error, the parameter reduction, the energy identity check and the time. */
#include "bench.h"
#include "kernels.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "project"

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: moncim project --in W.safetensors --tensor NAME --nblocks B --out M.safetensors\n"
      "                      [--prefix P] [--json]\n\n"
      "Projects the 2-D tensor NAME, a weight W of shape (out, in) for y = W x (F32, F16 or\n"
      "BF16), onto the nearest Monarch matrix M with B blocks: a truncated SVD of every strided\n"
      "sub-block (rank n/B^2 per block for a square n x n W with B dividing n; B = sqrt(n) is\n"
      "the rank-1 Monarch). Writes M.safetensors (F32) with the MonarchLinear tensors\n"
      "  blkdiag1  (k, q, p)   and   blkdiag2  (l, s, r)\n"
      "named exactly so (as in a single MonarchLinear's state_dict), or P.blkdiag1 and\n"
      "P.blkdiag2 with --prefix P, and \"__metadata__\": source_file, source_tensor, out, in,\n"
      "nblocks, rel_err, moncim_version. Prints the relative Frobenius error ||W-M||/||W||,\n"
      "the parameter reduction (dense / Monarch parameters), the energy check (the discarded\n"
      "singular values squared must equal the measured ||W-M||^2, padded or not) and the\n"
      "time. Exit status: 0 done, 1 bad input or a failed check, 2 usage.\n\n"
      "  -i, --in FILE      input safetensors file\n"
      "  -t, --tensor NAME  the weight to project, shape (out, in)\n"
      "  -b, --nblocks B    Monarch blocks per factor, 1 <= B <= min(out, in)\n"
      "  -o, --out FILE     output safetensors file (written atomically)\n"
      "  -p, --prefix P     name the factors P.blkdiag1 / P.blkdiag2\n"
      "      --json         print one JSON object on stdout instead of the table\n"
      "  -h, --help         this text\n");
}

typedef struct {
  const char *in, *tensor, *out, *prefix;
  int nblocks, json;
} project_opts;

/* Everything the command reports, computed once and printed as a table or as JSON. */
typedef struct {
  int out, in;
  const char *dtype;
  mon_monarch m;
  mon_project_info pi;
  mon_counts counts;
  int rank_min, rank_max; /* ranks of the (ll, kk) sub-blocks */
  double energy_diff;     /* |measured ||W-M||^2 - discarded sigma^2| / ||W||^2 */
  int energy_ok;
  double t_read, t_project, t_write, t_total; /* seconds, bench_now() */
  char name1[MON_NAME_MAX], name2[MON_NAME_MAX];
} project_result;

/* Tolerance of the energy check relative to ||W||^2: the SVD runs in float, so both sides carry
 * rounding of order 1e-7 * ||W||^2 (float epsilon); 1e-4 leaves a wide margin and still catches a
 * wrong factor, which shows up at the order of the discarded energy itself. */
#define ENERGY_TOL 1e-4

static int parse(int argc, char **argv, project_opts *o) {
  memset(o, 0, sizeof *o);
  const bench_opt opts[] = {BENCH_STR_SHORT("in", 'i', &o->in),
                            BENCH_STR_SHORT("tensor", 't', &o->tensor),
                            BENCH_INT_SHORT("nblocks", 'b', &o->nblocks, 1, INT_MAX),
                            BENCH_STR_SHORT("out", 'o', &o->out),
                            BENCH_STR_SHORT("prefix", 'p', &o->prefix),
                            BENCH_FLAG("json", &o->json),
                            BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc == BENCH_OK ? -1 : rc;
  if (!o->in) return bench_usage_error(CMD, "--in FILE is required");
  if (!o->tensor) return bench_usage_error(CMD, "--tensor NAME is required");
  if (!o->nblocks) return bench_usage_error(CMD, "--nblocks B is required");
  if (!o->out) return bench_usage_error(CMD, "--out FILE is required");
  return 0;
}

/* Reads the weight, checking it is a 2-D (out, in) tensor whose sizes the kernels can index. */
static int read_weight(const project_opts *o, project_result *r, float **w) {
  mon_safetensors st;
  if (mon_st_open(&st, o->in)) return -1;
  const mon_tensor *t = mon_st_find(&st, o->tensor);
  int rc = -1;
  if (!t) {
    /* mon_st_find's message names the file, the tensor and the tensors present. */
  } else if (t->ndim != 2) {
    mon_fail("%s: tensor '%s' has %d dimensions: expected a 2-D weight (out, in)", o->in, o->tensor,
             t->ndim);
  } else if (t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > INT_MAX || t->shape[1] > INT_MAX) {
    mon_fail("%s: tensor '%s' has shape (%lld, %lld): expected sizes in [1, %d]", o->in, o->tensor,
             (long long)t->shape[0], (long long)t->shape[1], INT_MAX);
  } else if (o->nblocks > t->shape[0] || o->nblocks > t->shape[1]) {
    mon_fail("--nblocks %d: larger than a dimension of tensor '%s' (out %lld, in %lld) in %s; "
             "expected 1 <= nblocks <= %lld",
             o->nblocks, o->tensor, (long long)t->shape[0], (long long)t->shape[1], o->in,
             (long long)(t->shape[0] < t->shape[1] ? t->shape[0] : t->shape[1]));
  } else {
    r->out = (int)t->shape[0];
    r->in = (int)t->shape[1];
    r->dtype = mon_dtype_name(t->dtype);
    const int64_t any[2] = {-1, -1};
    rc = mon_st_read_f32(&st, o->tensor, 2, any, w);
  }
  mon_st_close(&st);
  return rc;
}

static int write_factors(const project_opts *o, const project_result *r) {
  const mon_monarch *m = &r->m;
  const int64_t s1[3] = {m->k, m->q, m->p}, s2[3] = {m->l, m->s, m->r};
  char buf[64];
  mon_st_writer *w = mon_st_writer_create();
  if (!w) return -1;
  int rc = mon_st_writer_add(w, r->name1, 3, s1, m->w1) ||
           mon_st_writer_add(w, r->name2, 3, s2, m->w2) ||
           mon_st_writer_meta(w, "source_file", o->in) ||
           mon_st_writer_meta(w, "source_tensor", o->tensor);
  snprintf(buf, sizeof buf, "%d", r->out);
  rc = rc || mon_st_writer_meta(w, "out", buf);
  snprintf(buf, sizeof buf, "%d", r->in);
  rc = rc || mon_st_writer_meta(w, "in", buf);
  snprintf(buf, sizeof buf, "%d", m->nblocks);
  rc = rc || mon_st_writer_meta(w, "nblocks", buf);
  snprintf(buf, sizeof buf, "%.9g", r->pi.rel_err);
  rc = rc || mon_st_writer_meta(w, "rel_err", buf);
  rc = rc || mon_st_writer_meta(w, "moncim_version", bench_version_string()) ||
       mon_st_writer_write(w, o->out);
  mon_st_writer_destroy(w);
  return rc ? -1 : 0;
}

static void summarize(project_result *r) {
  const mon_monarch *m = &r->m;
  mon_monarch_counts(m, &r->counts);
  r->rank_min = INT_MAX;
  r->rank_max = 0;
  for (int ll = 0; ll < m->l; ll++)
    for (int kk = 0; kk < m->k; kk++) {
      int rk = mon_monarch_block_rank(m, ll, kk);
      if (rk < r->rank_min) r->rank_min = rk;
      if (rk > r->rank_max) r->rank_max = rk;
    }
  double nsq = r->pi.norm_fro * r->pi.norm_fro, esq = r->pi.err_fro * r->pi.err_fro;
  double scale = nsq > 0 ? nsq : 1.0;
  r->energy_diff = fabs(esq - r->pi.discarded_sq) / scale;
  /* The truncated SVD is optimal per sub-block, so ||W - M||^2 equals the discarded energy. Zero
   * padding does not change that: the singular vectors vanish on zero rows and columns, so the
   * reconstruction is zero on the padding and all the error lies in the logical region. */
  r->energy_ok = r->energy_diff <= ENERGY_TOL;
}

static void print_table(const project_opts *o, const project_result *r) {
  const mon_monarch *m = &r->m;
  const mon_counts *c = &r->counts;
  printf("# moncim project: %s tensor '%s' (%d, %d) %s -> %s\n", o->in, o->tensor, r->out, r->in,
         r->dtype, o->out);
  printf("%-34s %s\n", "quantity", "value");
  printf("%-34s %d\n", "nblocks", m->nblocks);
  printf("%-34s (%d, %d, %d)\n", r->name1, m->k, m->q, m->p);
  printf("%-34s (%d, %d, %d)\n", r->name2, m->l, m->s, m->r);
  printf("%-34s %d..%d\n", "rank per sub-block", r->rank_min, r->rank_max);
  printf("%-34s %.9g\n", "||W||_F", r->pi.norm_fro);
  printf("%-34s %.9g\n", "||W - M||_F", r->pi.err_fro);
  printf("%-34s %.9g\n", "relative Frobenius error", r->pi.rel_err);
  printf("%-34s %lld\n", "dense params", c->dense_params);
  printf("%-34s %lld\n", "monarch params", c->monarch_params);
  printf("%-34s %.9g\n", "param reduction (dense/monarch)",
         (double)c->dense_params / (double)c->monarch_params);
  printf("%-34s %.9g\n", "kept energy (sum sigma^2)", r->pi.kept_sq);
  printf("%-34s %.9g\n", "discarded energy (sum sigma^2)", r->pi.discarded_sq);
  printf("%-34s %.9g\n", "measured ||W - M||_F^2", r->pi.err_fro * r->pi.err_fro);
  printf("%-34s %s (|diff|/||W||^2 = %.3g, tol %g)\n", "energy check",
         r->energy_ok ? "VALID" : "INVALID", r->energy_diff, ENERGY_TOL);
  printf("%-34s %.6f\n", "time read (s)", r->t_read);
  printf("%-34s %.6f\n", "time project (s)", r->t_project);
  printf("%-34s %.6f\n", "time write (s)", r->t_write);
  printf("%-34s %.6f\n", "time total (s)", r->t_total);
}

static cJSON *int_array(int n, const int *v) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
  return a;
}

static int print_json(const project_opts *o, const project_result *r) {
  const mon_monarch *m = &r->m;
  const mon_counts *c = &r->counts;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "file", o->in);
  cJSON_AddStringToObject(j, "tensor", o->tensor);
  cJSON_AddStringToObject(j, "dtype", r->dtype);
  cJSON_AddItemToObject(j, "shape", int_array(2, (const int[]){r->out, r->in}));
  cJSON_AddStringToObject(j, "out_file", o->out);
  cJSON_AddNumberToObject(j, "nblocks", m->nblocks);
  cJSON_AddStringToObject(j, "blkdiag1_name", r->name1);
  cJSON_AddItemToObject(j, "blkdiag1_shape", int_array(3, (const int[]){m->k, m->q, m->p}));
  cJSON_AddStringToObject(j, "blkdiag2_name", r->name2);
  cJSON_AddItemToObject(j, "blkdiag2_shape", int_array(3, (const int[]){m->l, m->s, m->r}));
  cJSON_AddNumberToObject(j, "rank_min", r->rank_min);
  cJSON_AddNumberToObject(j, "rank_max", r->rank_max);
  cJSON_AddNumberToObject(j, "norm_fro", r->pi.norm_fro);
  cJSON_AddNumberToObject(j, "err_fro", r->pi.err_fro);
  cJSON_AddNumberToObject(j, "rel_err", r->pi.rel_err);
  cJSON_AddNumberToObject(j, "dense_params", (double)c->dense_params);
  cJSON_AddNumberToObject(j, "monarch_params", (double)c->monarch_params);
  cJSON_AddNumberToObject(j, "param_reduction",
                          (double)c->dense_params / (double)c->monarch_params);
  cJSON_AddNumberToObject(j, "dense_flops", (double)c->dense_flops);
  cJSON_AddNumberToObject(j, "monarch_flops", (double)c->monarch_flops);
  cJSON_AddNumberToObject(j, "kept_sq", r->pi.kept_sq);
  cJSON_AddNumberToObject(j, "discarded_sq", r->pi.discarded_sq);
  cJSON_AddNumberToObject(j, "err_sq", r->pi.err_fro * r->pi.err_fro);
  cJSON_AddNumberToObject(j, "energy_rel_diff", r->energy_diff);
  cJSON_AddBoolToObject(j, "energy_ok", r->energy_ok);
  cJSON_AddNumberToObject(j, "time_read_s", r->t_read);
  cJSON_AddNumberToObject(j, "time_project_s", r->t_project);
  cJSON_AddNumberToObject(j, "time_write_s", r->t_write);
  cJSON_AddNumberToObject(j, "time_total_s", r->t_total);
  char *txt = cJSON_Print(j);
  cJSON_Delete(j);
  if (!txt) return bench_error(CMD, "out of memory");
  puts(txt);
  free(txt);
  return BENCH_OK;
}

int bench_cmd_project(int argc, char **argv) {
  project_opts o;
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? BENCH_OK : rc;
  project_result r;
  memset(&r, 0, sizeof r);
  const char *pre = o.prefix ? o.prefix : "", *dot = o.prefix ? "." : "";
  if ((size_t)snprintf(r.name1, sizeof r.name1, "%s%sblkdiag1", pre, dot) >= sizeof r.name1 ||
      (size_t)snprintf(r.name2, sizeof r.name2, "%s%sblkdiag2", pre, dot) >= sizeof r.name2)
    return bench_usage_error(CMD, "--prefix is too long (tensor names have < %d bytes)",
                             MON_NAME_MAX);

  double t0 = bench_now();
  float *w = NULL;
  if (read_weight(&o, &r, &w)) return bench_error(CMD, "%s", mon_errmsg());
  double t1 = bench_now();
  rc = mon_monarch_project(w, r.out, r.in, o.nblocks, &r.m, &r.pi);
  free(w);
  if (rc) return bench_error(CMD, "tensor '%s' of %s: %s", o.tensor, o.in, mon_errmsg());
  double t2 = bench_now();
  summarize(&r);
  if (write_factors(&o, &r)) {
    mon_monarch_destroy(&r.m);
    return bench_error(CMD, "%s", mon_errmsg());
  }
  double t3 = bench_now();
  r.t_read = t1 - t0;
  r.t_project = t2 - t1;
  r.t_write = t3 - t2;
  r.t_total = t3 - t0;
  rc = o.json ? print_json(&o, &r) : (print_table(&o, &r), BENCH_OK);
  if (rc == BENCH_OK && !r.energy_ok)
    rc = bench_error(CMD,
                     "energy check INVALID: ||W-M||^2 = %.9g vs discarded sigma^2 = %.9g "
                     "(relative to ||W||^2: %.3g > %g)",
                     r.pi.err_fro * r.pi.err_fro, r.pi.discarded_sq, r.energy_diff, ENERGY_TOL);
  mon_monarch_destroy(&r.m);
  return rc;
}
