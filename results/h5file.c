/* The HDF5 side of results/: types from the column tables, creation, kill-safe row writes,
 * atomic structural edits, reading and merging. See results.h for the kill-safety argument. */
#include "results.h"
#include "base.h"

#include <hdf5.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

static herr_t walk_innermost(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0) snprintf((char *)data, 512, "%s", e->desc ? e->desc : "?");
  return 0;
}

/* mon_fail with the innermost message of the HDF5 error stack appended (the HDF5_CHECK idea of
 * STYLE rule 5). */
static int h5fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int h5fail(const char *fmt, ...) {
  char what[512], h5[512] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_innermost, h5);
  H5Eclear2(H5E_DEFAULT);
  return h5[0] ? mon_fail("%s: %s", what, h5) : mon_fail("%s", what);
}

static void quiet(void) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---------------------------------------------------------------- types */

static hid_t status_type(void) {
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v;
  v = RES_PENDING, H5Tenum_insert(t, "pending", &v);
  v = RES_DONE, H5Tenum_insert(t, "done", &v);
  v = RES_FAILED, H5Tenum_insert(t, "failed", &v);
  return t;
}

/* Memory type of a row struct from its column table (only listed fields; padding skipped). */
static hid_t mem_type(const res_column *cols, int n, size_t rowsize) {
  hid_t t = H5Tcreate(H5T_COMPOUND, rowsize);
  for (int i = 0; i < n; i++) {
    hid_t m;
    switch (cols[i].type) {
    case RES_T_I8:
      m = H5Tcopy(H5T_NATIVE_INT8);
      break;
    case RES_T_I32:
      m = H5Tcopy(H5T_NATIVE_INT32);
      break;
    case RES_T_I64:
      m = H5Tcopy(H5T_NATIVE_INT64);
      break;
    case RES_T_F64:
      m = H5Tcopy(H5T_NATIVE_DOUBLE);
      break;
    case RES_T_STATUS:
      m = status_type();
      break;
    default:
      m = H5Tcopy(H5T_C_S1);
      H5Tset_size(m, cols[i].size);
      H5Tset_strpad(m, H5T_STR_NULLTERM);
      break;
    }
    H5Tinsert(t, cols[i].name, cols[i].off, m);
    H5Tclose(m);
  }
  return t;
}

/* File type: the memory type without padding (so files do not hold uninitialized bytes). */
static hid_t file_type(hid_t mem) {
  hid_t t = H5Tcopy(mem);
  H5Tpack(t);
  return t;
}

#define JOB_TYPE()   mem_type(res_job_columns, res_njob_columns, sizeof(res_row))
#define LAYER_TYPE() mem_type(res_layer_columns, res_nlayer_columns, sizeof(res_layer_row))
#define RUN_TYPE()   mem_type(res_run_columns, res_nrun_columns, sizeof(res_run_row))
#define RANK_TYPE()  mem_type(res_rank_columns, res_nrank_columns, sizeof(res_rank_row))

/* ---------------------------------------------------------------- attributes */

static int attr_str(hid_t obj, const char *name, const char *value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  const char *v = value ? value : "";
  herr_t rc = a < 0 ? -1 : H5Awrite(a, t, &v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return rc < 0 ? h5fail("attribute '%s'", name) : 0;
}

static int attr_i64(hid_t obj, const char *name, int64_t value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT64, &value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return rc < 0 ? h5fail("attribute '%s'", name) : 0;
}

/* Reads a string attribute (variable or fixed length) into a malloc'd string. */
static int read_attr_str(hid_t obj, const char *name, char **out) {
  *out = NULL;
  if (H5Aexists(obj, name) <= 0) return mon_fail("attribute '%s' missing", name);
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  hid_t ft = H5Aget_type(a);
  int rc = 0;
  if (H5Tget_class(ft) != H5T_STRING) {
    rc = mon_fail("attribute '%s' is not a string", name);
  } else if (H5Tis_variable_str(ft) > 0) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5Tget_cset(ft));
    char *v = NULL;
    if (H5Aread(a, t, &v) < 0) {
      rc = h5fail("attribute '%s'", name);
    } else {
      *out = strdup(v ? v : "");
      H5free_memory(v);
    }
    H5Tclose(t);
  } else {
    size_t n = H5Tget_size(ft);
    *out = calloc(n + 1, 1);
    if (*out && H5Aread(a, ft, *out) < 0) rc = h5fail("attribute '%s'", name);
  }
  H5Tclose(ft);
  H5Aclose(a);
  if (!rc && !*out) rc = mon_fail("out of memory");
  return rc;
}

static int read_attr_i64(hid_t obj, const char *name, int64_t *out) {
  if (H5Aexists(obj, name) <= 0) return mon_fail("attribute '%s' missing", name);
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  herr_t rc = H5Aread(a, H5T_NATIVE_INT64, out);
  H5Aclose(a);
  return rc < 0 ? h5fail("attribute '%s'", name) : 0;
}

/* ---------------------------------------------------------------- files and tables */

static hid_t fapl_sec2(int locking) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_sec2(fapl);
  /* Writers lock (two sweeps must not write one file); readers do not, so that `moncim report`
   * and h5py can look at a file while a sweep writes it. Filesystems without flock (some
   * Lustre/NFS mounts) are tolerated: ignore_when_disabled = 1. */
  H5Pset_file_locking(fapl, locking ? 1 : 0, 1);
  return fapl;
}

/* Files under construction or structural edit live in memory (HDF5's core driver, no backing
 * store) and reach the disk only through mon_write_atomic: HDF5 never writes them itself. A
 * full disk or an I/O error is then one failed write() with its errno, the temporary file is
 * removed and the old file stays as it was. (When HDF5 itself hits ENOSPC while closing a
 * half-written file, its library shutdown in MPI_Finalize crashes on the leftover file.) */
static hid_t fapl_memory(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, (size_t)1 << 20, 0); /* grow by 1 MiB, never write on close */
  return fapl;
}

/* Writes the in-memory file f to path (atomically: temporary file, fsync, rename). */
static int save_image(hid_t f, const char *path) {
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) return h5fail("%s: flush", path);
  ssize_t n = H5Fget_file_image(f, NULL, 0);
  if (n <= 0) return h5fail("%s: file image", path);
  void *buf = malloc((size_t)n);
  if (!buf) return mon_fail("%s: out of memory for a %lld-byte file", path, (long long)n);
  int rc = H5Fget_file_image(f, buf, (size_t)n) != n ? h5fail("%s: file image", path) : 0;
  size_t len = (size_t)n;
  const void *parts[1] = {buf};
  if (!rc) rc = mon_write_atomic(path, 1, parts, &len);
  free(buf);
  return rc;
}

static hsize_t chunk_rows(size_t rowsize, hsize_t n) {
  hsize_t c = 65536 / rowsize; /* ~64 KiB chunks */
  if (c < 1) c = 1;
  if (n > 0 && n < c) c = n;
  return c;
}

/* A 1-D chunked, extendable table of n rows; chunks allocated at creation, so later writes of
 * existing rows never touch metadata. */
static hid_t create_table(hid_t file, const char *name, hid_t mtype, hsize_t n, size_t rowsize,
                          const void *fill) {
  hsize_t maxd = H5S_UNLIMITED, ch = chunk_rows(rowsize, n);
  hid_t sp = H5Screate_simple(1, &n, &maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &ch);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  H5Pset_obj_track_times(dcpl, 0); /* no modification times: identical runs, identical bytes */
  if (fill) H5Pset_fill_value(dcpl, mtype, fill);
  hid_t ft = file_type(mtype);
  hid_t d = H5Dcreate2(file, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Tclose(ft);
  H5Pclose(dcpl);
  H5Sclose(sp);
  if (d < 0) h5fail("create dataset '%s'", name);
  return d;
}

static int write_rows(hid_t d, hid_t mtype, hsize_t first, hsize_t count, const void *rows) {
  if (count == 0) return 0;
  hid_t fs = H5Dget_space(d);
  hsize_t dims;
  H5Sget_simple_extent_dims(fs, &dims, NULL);
  if (first + count > dims) {
    H5Sclose(fs);
    return mon_fail("row %llu beyond the table's %llu rows", (unsigned long long)(first + count),
                    (unsigned long long)dims);
  }
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &first, NULL, &count, NULL);
  hid_t ms = H5Screate_simple(1, &count, NULL);
  herr_t rc = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, rows);
  H5Sclose(ms);
  H5Sclose(fs);
  return rc < 0 ? h5fail("write rows %llu..%llu", (unsigned long long)first,
                         (unsigned long long)(first + count - 1))
                : 0;
}

/* Checks that dataset d (named name) is a 1-D table whose on-disk row type is exactly the one
 * this moncim writes for mtype. HDF5 converts whatever type a file declares into the memory
 * type, so a corrupt type message (a member offset or size flipped) would have it read outside
 * the rows: this check comes before any read. */
static int check_table(hid_t d, const char *name, hid_t mtype) {
  hid_t ft = H5Dget_type(d), want = file_type(mtype), sp = H5Dget_space(d);
  int ndims = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
  htri_t same = ft < 0 ? -1 : H5Tequal(ft, want);
  if (ft >= 0) H5Tclose(ft);
  H5Tclose(want);
  if (sp >= 0) H5Sclose(sp);
  H5Eclear2(H5E_DEFAULT);
  if (ndims != 1)
    return mon_fail("dataset '/%s': not a 1-D table (%d dimensions): corrupt file", name, ndims);
  if (same <= 0)
    return mon_fail("dataset '/%s': its rows have other columns or types than this moncim "
                    "writes (results/SCHEMA.md): corrupt file or another schema",
                    name);
  return 0;
}

/* Fixed-length strings of rows read from a file end inside their field, whatever the file
 * holds. */
static void terminate_strings(void *rows, int64_t n, size_t rowsize, const res_column *cols,
                              int ncols) {
  for (int64_t i = 0; i < n; i++)
    for (int c = 0; c < ncols; c++)
      if (cols[c].type == RES_T_STR && cols[c].size > 0)
        ((char *)rows + (size_t)i * rowsize + cols[c].off)[cols[c].size - 1] = '\0';
}

static int read_rows(hid_t d, hid_t mtype, hsize_t first, hsize_t count, void *rows) {
  if (count == 0) return 0;
  hid_t fs = H5Dget_space(d);
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &first, NULL, &count, NULL);
  hid_t ms = H5Screate_simple(1, &count, NULL);
  herr_t rc = H5Dread(d, mtype, ms, fs, H5P_DEFAULT, rows);
  H5Sclose(ms);
  H5Sclose(fs);
  return rc < 0 ? h5fail("read rows") : 0;
}

static hsize_t table_len(hid_t d) {
  hid_t fs = H5Dget_space(d);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(fs, &n, NULL);
  H5Sclose(fs);
  return n;
}

static int append_rows(hid_t d, hid_t mtype, hsize_t count, const void *rows) {
  hsize_t n = table_len(d), nn = n + count;
  if (H5Dset_extent(d, &nn) < 0) return h5fail("extend table");
  return write_rows(d, mtype, n, count, rows);
}

/* ---------------------------------------------------------------- provenance */

static int write_run_attrs(hid_t f, const res_run_row *r) {
  char buf[32];
  snprintf(buf, sizeof buf, "%d x %d", r->ranks, r->threads);
  return attr_str(f, "moncim_version", r->version) || attr_str(f, "git_commit", r->git_commit) ||
         attr_str(f, "command_line", r->command_line) || attr_str(f, "host", r->host) ||
         attr_i64(f, "ranks", r->ranks) || attr_i64(f, "threads", r->threads) ||
         attr_str(f, "ranks_x_threads", buf) || attr_str(f, "start_time", r->start_time) ||
         attr_str(f, "end_time", r->end_time) || attr_str(f, "executor", r->executor) ||
         attr_i64(f, "run", r->run);
}

int res_check_writable(const char *path, int force) {
  quiet();
  struct stat st;
  if (!force && stat(path, &st) == 0)
    return mon_fail("%s exists: use --resume to continue it or --force to overwrite it", path);
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return mon_fail("%s: path too long", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return mon_fail("%s: cannot create output: %s", path, strerror(errno));
  close(fd);
  unlink(tmp);
  return 0;
}

int res_create(const char *path, const job_sweep *s, const int32_t *nlayers,
               const res_run_row *run0) {
  quiet();
  hid_t fapl = fapl_memory();
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return h5fail("%s: cannot create", path);
  int rc = 0;
  hid_t jt = JOB_TYPE(), lt = LAYER_TYPE(), rt = RUN_TYPE(), kt = RANK_TYPE();
  int64_t nl = 0;
  for (int64_t i = 0; i < s->njobs; i++) nl += nlayers[i];
  res_row fillrow;
  job_params zero = {0};
  res_row_init(&fillrow, &zero, 0, 0);
  res_layer_row filllayer = {0};
  job_layer_nan(&filllayer.l);
  hid_t dj = create_table(f, "jobs", jt, (hsize_t)s->njobs, sizeof(res_row), &fillrow);
  hid_t dl = create_table(f, "layers", lt, (hsize_t)nl, sizeof(res_layer_row), &filllayer);
  hid_t dr = create_table(f, "runs", rt, 0, sizeof(res_run_row), NULL);
  hid_t dk = create_table(f, "ranks", kt, 0, sizeof(res_rank_row), NULL);
  if (dj < 0 || dl < 0 || dr < 0 || dk < 0) rc = -1;
  /* Self-description for readers: which columns differ between runs, and every unit. */
  struct {
    hid_t d;
    const res_column *cols;
    int n;
  } tabs[] = {{dj, res_job_columns, res_njob_columns},
              {dl, res_layer_columns, res_nlayer_columns},
              {dr, res_run_columns, res_nrun_columns},
              {dk, res_rank_columns, res_nrank_columns}};
  for (size_t t = 0; !rc && t < sizeof tabs / sizeof tabs[0]; t++) {
    char runcols[2048] = "", units[4096] = "";
    size_t a = 0, b = 0;
    for (int i = 0; i < tabs[t].n; i++) {
      const res_column *col = &tabs[t].cols[i];
      if (col->run && tabs[t].d == dj)
        a += (size_t)snprintf(runcols + a, sizeof runcols - a, "%s%s", a ? "," : "", col->name);
      if (col->unit[0])
        b += (size_t)snprintf(units + b, sizeof units - b, "%s%s=%s", b ? "," : "", col->name,
                              col->unit);
    }
    if (tabs[t].d == dj) rc = attr_str(dj, "run_columns", runcols);
    if (!rc) rc = attr_str(tabs[t].d, "units", units);
  }

  /* Every row exists from the start: parameters filled, status pending, metrics NaN. */
  enum { BATCH = 4096 };
  res_row *rows = rc ? NULL : malloc(BATCH * sizeof *rows);
  res_layer_row *lrows = rc ? NULL : malloc(BATCH * sizeof *lrows);
  if (!rc && (!rows || !lrows)) rc = mon_fail("out of memory");
  int64_t lfirst = 0, lbuf = 0, lbase = 0;
  for (int64_t i0 = 0; !rc && i0 < s->njobs; i0 += BATCH) {
    int64_t n = s->njobs - i0 < BATCH ? s->njobs - i0 : BATCH;
    for (int64_t k = 0; k < n && !rc; k++) {
      int64_t i = i0 + k;
      res_row_init(&rows[k], &s->jobs[i], lfirst, nlayers[i]);
      for (int32_t l = 0; l < nlayers[i] && !rc; l++) {
        res_layer_row *L = &lrows[lbuf++];
        *L = filllayer;
        L->job_index = i;
        L->layer = l;
        if (lbuf == BATCH) {
          rc = write_rows(dl, lt, (hsize_t)lbase, (hsize_t)lbuf, lrows);
          lbase += lbuf, lbuf = 0;
        }
      }
      lfirst += nlayers[i];
    }
    if (!rc) rc = write_rows(dj, jt, (hsize_t)i0, (hsize_t)n, rows);
  }
  if (!rc) rc = write_rows(dl, lt, (hsize_t)lbase, (hsize_t)lbuf, lrows);
  free(rows);
  free(lrows);
  if (!rc) rc = append_rows(dr, rt, 1, run0);

  char hash[17];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)job_sweep_list_hash(s));
  if (!rc)
    rc = attr_i64(f, "schema_version", RES_SCHEMA_VERSION) || attr_str(f, "sweep_name", s->name) ||
         attr_str(f, "sweep_path", s->path) || attr_str(f, "sweep_text", s->text) ||
         attr_str(f, "job_list_hash", hash) || attr_i64(f, "njobs", s->njobs) ||
         attr_str(f, "part", run0->part) || attr_str(f, "created_time", run0->start_time) ||
         write_run_attrs(f, run0);
  if (dj >= 0) H5Dclose(dj);
  if (dl >= 0) H5Dclose(dl);
  if (dr >= 0) H5Dclose(dr);
  if (dk >= 0) H5Dclose(dk);
  H5Tclose(jt), H5Tclose(lt), H5Tclose(rt), H5Tclose(kt);
  if (!rc) rc = save_image(f, path);
  if (H5Fclose(f) < 0 && !rc) rc = h5fail("%s: close", path);
  return rc;
}

/* ---------------------------------------------------------------- atomic edits */

/* Applies fn to an in-memory copy of path and writes the result over path atomically: path is
 * never half-edited, and a failed edit or a full disk leaves it untouched. */
static int atomic_edit(const char *path, int (*fn)(hid_t f, void *arg), void *arg) {
  quiet();
  hid_t fapl = fapl_memory();
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (f < 0) return h5fail("%s: cannot open", path);
  int rc = fn(f, arg);
  if (!rc) rc = save_image(f, path);
  if (H5Fclose(f) < 0 && !rc) rc = h5fail("%s: close", path);
  return rc;
}

static int begin_run_fn(hid_t f, void *arg) {
  res_run_row *run = arg;
  hid_t d = H5Dopen2(f, "runs", H5P_DEFAULT);
  if (d < 0) return h5fail("dataset 'runs'");
  hid_t t = RUN_TYPE();
  run->run = (int32_t)table_len(d);
  int rc = append_rows(d, t, 1, run);
  H5Tclose(t);
  H5Dclose(d);
  return rc ? rc : write_run_attrs(f, run);
}

int res_begin_run(const char *path, res_run_row *run) {
  return atomic_edit(path, begin_run_fn, run);
}

typedef struct {
  const res_run_row *run;
  const res_rank_row *ranks;
  int nranks;
} end_arg;

static int end_run_fn(hid_t f, void *arg) {
  end_arg *a = arg;
  hid_t d = H5Dopen2(f, "runs", H5P_DEFAULT), k = H5Dopen2(f, "ranks", H5P_DEFAULT);
  hid_t t = RUN_TYPE(), kt = RANK_TYPE();
  int rc = d < 0 || k < 0 ? h5fail("datasets 'runs', 'ranks'") : 0;
  if (!rc && (hsize_t)a->run->run >= table_len(d))
    rc = mon_fail("run %d not in /runs", a->run->run);
  if (!rc) rc = write_rows(d, t, (hsize_t)a->run->run, 1, a->run);
  if (!rc) rc = append_rows(k, kt, (hsize_t)a->nranks, a->ranks);
  if (!rc) rc = write_run_attrs(f, a->run);
  H5Tclose(t), H5Tclose(kt);
  if (d >= 0) H5Dclose(d);
  if (k >= 0) H5Dclose(k);
  return rc;
}

int res_end_run(const char *path, const res_run_row *run, const res_rank_row *ranks, int nranks) {
  end_arg a = {run, ranks, nranks};
  return atomic_edit(path, end_run_fn, &a);
}

/* ---------------------------------------------------------------- job rows */

struct res_file {
  hid_t f, dj, dl, jt, lt;
  int64_t njobs;
  int8_t *status;
  int64_t *layer_first;
  int32_t *layer_count;
  int32_t nruns;
  char *part;
  char *path;
};

/* Reads one column of /jobs through a one-member compound type. */
static int read_column(hid_t d, const char *name, hid_t t, size_t size, int64_t n, void *out) {
  hid_t ct = H5Tcreate(H5T_COMPOUND, size);
  H5Tinsert(ct, name, 0, t);
  herr_t rc = n ? H5Dread(d, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : 0;
  H5Tclose(ct);
  return rc < 0 ? h5fail("read column '%s'", name) : 0;
}

/* 1 when dataset d's rows have exactly the columns cols (by name: HDF5 may order members by
 * offset). */
static int same_columns(hid_t d, const res_column *cols, int n) {
  hid_t t = H5Dget_type(d);
  int ok = t >= 0 && H5Tget_class(t) == H5T_COMPOUND && H5Tget_nmembers(t) == n;
  for (int i = 0; ok && i < n; i++) ok = H5Tget_member_index(t, cols[i].name) >= 0;
  if (t >= 0) H5Tclose(t);
  return ok;
}

int res_open(res_file **out, const char *path, const job_sweep *s) {
  quiet();
  *out = NULL;
  res_file *r = calloc(1, sizeof *r);
  if (!r) return mon_fail("out of memory");
  r->f = r->dj = r->dl = r->jt = r->lt = -1;
  r->path = strdup(path);
  hid_t fapl = fapl_sec2(1);
  r->f = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  int rc = 0;
  if (r->f < 0) {
    /* The system's reason (read-only filesystem, permissions) when there is one. */
    int fd = open(path, O_RDWR);
    if (fd < 0) {
      H5Eclear2(H5E_DEFAULT);
      rc = mon_fail("%s: cannot open for writing: %s", path, strerror(errno));
    } else {
      close(fd);
      rc = h5fail("%s: cannot open for writing", path);
    }
  }
  char *hash = NULL;
  int64_t n = 0;
  if (!rc && (read_attr_str(r->f, "job_list_hash", &hash) || read_attr_i64(r->f, "njobs", &n) ||
              read_attr_str(r->f, "part", &r->part)))
    rc = mon_fail_ctx("%s: not a moncim sweep file", path);
  if (!rc) {
    char want[17];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)job_sweep_list_hash(s));
    if (n != s->njobs || strcmp(hash, want))
      rc = mon_fail("%s holds a different sweep (%lld jobs, list hash %s) than %s (%lld jobs, "
                    "list hash %s): use another output or --force",
                    path, (long long)n, hash, s->path, (long long)s->njobs, want);
  }
  free(hash);
  if (!rc) {
    r->dj = H5Dopen2(r->f, "jobs", H5P_DEFAULT);
    r->dl = H5Dopen2(r->f, "layers", H5P_DEFAULT);
    hid_t dr = H5Dopen2(r->f, "runs", H5P_DEFAULT);
    if (r->dj < 0 || r->dl < 0 || dr < 0) rc = h5fail("%s: datasets", path);
    hid_t jt = JOB_TYPE(), lt = LAYER_TYPE(), rt = RUN_TYPE();
    if (!rc && (check_table(r->dj, "jobs", jt) || check_table(r->dl, "layers", lt) ||
                check_table(dr, "runs", rt)))
      rc = mon_fail_ctx("%s", path);
    H5Tclose(jt), H5Tclose(lt), H5Tclose(rt);
    if (dr >= 0) {
      r->nruns = (int32_t)table_len(dr);
      H5Dclose(dr);
    }
  }
  if (!rc && table_len(r->dj) != (hsize_t)n) rc = mon_fail("%s: /jobs has the wrong length", path);
  if (!rc && (!same_columns(r->dj, res_job_columns, res_njob_columns) ||
              !same_columns(r->dl, res_layer_columns, res_nlayer_columns)))
    rc = mon_fail("%s: written with other columns than this moncim's (schema version %d, "
                  "results/SCHEMA.md): use another output or --force",
                  path, RES_SCHEMA_VERSION);
  r->njobs = n;
  r->jt = JOB_TYPE();
  r->lt = LAYER_TYPE();
  if (!rc) {
    r->status = malloc((size_t)n + 1);
    r->layer_first = malloc(((size_t)n + 1) * sizeof(int64_t));
    r->layer_count = malloc(((size_t)n + 1) * sizeof(int32_t));
    if (!r->status || !r->layer_first || !r->layer_count) rc = mon_fail("out of memory");
  }
  if (!rc) {
    hid_t st = status_type();
    rc = read_column(r->dj, "status", st, 1, n, r->status) ||
         read_column(r->dj, "layer_first", H5T_NATIVE_INT64, 8, n, r->layer_first) ||
         read_column(r->dj, "layer_count", H5T_NATIVE_INT32, 4, n, r->layer_count);
    H5Tclose(st);
  }
  /* The layout must lie inside /layers: writes go where it says. */
  int64_t nl = rc ? 0 : (int64_t)table_len(r->dl);
  for (int64_t i = 0; !rc && i < n; i++)
    if (r->status[i] < RES_PENDING || r->status[i] > RES_FAILED || r->layer_first[i] < 0 ||
        r->layer_count[i] < 0 || r->layer_first[i] > nl - r->layer_count[i])
      rc = mon_fail("%s: dataset '/jobs' row %lld: status %d, layers %lld+%d outside /layers (%lld "
                    "rows): corrupt file",
                    path, (long long)i, r->status[i], (long long)r->layer_first[i],
                    r->layer_count[i], (long long)nl);
  if (rc) {
    res_close(r);
    return -1;
  }
  *out = r;
  return 0;
}

int64_t res_njobs(const res_file *f) {
  return f->njobs;
}
res_status res_job_status(const res_file *f, int64_t i) {
  return (res_status)f->status[i];
}
int32_t res_layer_count(const res_file *f, int64_t i) {
  return f->layer_count[i];
}
int32_t res_nruns(const res_file *f) {
  return f->nruns;
}
const char *res_file_part(const res_file *f) {
  return f->part ? f->part : "";
}

int res_write_job(res_file *f, const res_row *row, const res_layer_row *layers) {
  int64_t i = row->p.index;
  if (i < 0 || i >= f->njobs) return mon_fail("job index %lld out of range", (long long)i);
  if (row->layer_count != f->layer_count[i])
    return mon_fail("job %lld: %d layer rows, the file reserved %d (executor plan and run "
                    "disagree)",
                    (long long)i, row->layer_count, f->layer_count[i]);
  /* Step 1: the complete row, still marked pending, and its layers; flushed. A kill during
   * step 1 leaves a pending row (rerun by --resume). */
  res_row tmp = *row;
  tmp.layer_first = f->layer_first[i];
  tmp.status = RES_PENDING;
  if (write_rows(f->dl, f->lt, (hsize_t)tmp.layer_first, (hsize_t)tmp.layer_count, layers) ||
      write_rows(f->dj, f->jt, (hsize_t)i, 1, &tmp))
    return mon_fail_ctx("%s: job %lld", f->path, (long long)i);
  if (H5Fflush(f->f, H5F_SCOPE_LOCAL) < 0) return h5fail("%s: flush", f->path);
  /* Step 2: only the status byte changes (the rest of the row is rewritten identical). */
  tmp.status = row->status;
  if (write_rows(f->dj, f->jt, (hsize_t)i, 1, &tmp)) return mon_fail_ctx("%s", f->path);
  if (H5Fflush(f->f, H5F_SCOPE_LOCAL) < 0) return h5fail("%s: flush", f->path);
  f->status[i] = row->status;
  return 0;
}

int res_close(res_file *f) {
  if (!f) return 0;
  int rc = 0;
  if (f->dj >= 0) H5Dclose(f->dj);
  if (f->dl >= 0) H5Dclose(f->dl);
  if (f->jt >= 0) H5Tclose(f->jt);
  if (f->lt >= 0) H5Tclose(f->lt);
  if (f->f >= 0 && H5Fclose(f->f) < 0) rc = h5fail("%s: close", f->path);
  free(f->status);
  free(f->layer_first);
  free(f->layer_count);
  free(f->part);
  free(f->path);
  free(f);
  return rc;
}

/* ---------------------------------------------------------------- reading */

static int read_table(hid_t f, const char *name, hid_t t, size_t rowsize, const res_column *cols,
                      int ncols, void **rows, int64_t *n) {
  *n = 0;
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) return h5fail("dataset '/%s'", name);
  if (check_table(d, name, t)) {
    H5Dclose(d);
    return -1;
  }
  *n = (int64_t)table_len(d);
  *rows = calloc((size_t)*n + 1, rowsize);
  int rc = *rows ? read_rows(d, t, 0, (hsize_t)*n, *rows) : mon_fail("out of memory");
  H5Dclose(d);
  if (!rc) terminate_strings(*rows, *n, rowsize, cols, ncols);
  return rc ? mon_fail_ctx("dataset '/%s'", name) : 0;
}

int res_read(res_data *d, const char *path) {
  quiet();
  memset(d, 0, sizeof *d);
  hid_t fapl = fapl_sec2(0);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (f < 0) return h5fail("%s: cannot open", path);
  int rc = 0;
  int64_t sv = 0, nr = 0, nk = 0;
  char *hash = NULL;
  if (read_attr_i64(f, "schema_version", &sv) || read_attr_str(f, "sweep_text", &d->sweep_text) ||
      read_attr_str(f, "sweep_path", &d->sweep_path) ||
      read_attr_str(f, "sweep_name", &d->sweep_name) || read_attr_str(f, "part", &d->part) ||
      read_attr_str(f, "job_list_hash", &hash))
    rc = mon_fail_ctx("%s: not a moncim sweep file", path);
  if (!rc && sv != RES_SCHEMA_VERSION)
    rc = mon_fail("%s: schema version %lld, this moncim reads %d", path, (long long)sv,
                  RES_SCHEMA_VERSION);
  if (!rc) {
    d->schema_version = (int)sv;
    d->list_hash = strtoull(hash, NULL, 16);
  }
  free(hash);
  hid_t jt = JOB_TYPE(), lt = LAYER_TYPE(), rt = RUN_TYPE(), kt = RANK_TYPE();
  if (!rc)
    rc = read_table(f, "jobs", jt, sizeof(res_row), res_job_columns, res_njob_columns,
                    (void **)&d->jobs, &d->njobs) ||
         read_table(f, "layers", lt, sizeof(res_layer_row), res_layer_columns, res_nlayer_columns,
                    (void **)&d->layers, &d->nlayers) ||
         read_table(f, "runs", rt, sizeof(res_run_row), res_run_columns, res_nrun_columns,
                    (void **)&d->runs, &nr) ||
         read_table(f, "ranks", kt, sizeof(res_rank_row), res_rank_columns, res_nrank_columns,
                    (void **)&d->ranks, &nk);
  H5Tclose(jt), H5Tclose(lt), H5Tclose(rt), H5Tclose(kt);
  H5Fclose(f);
  d->nruns = (int32_t)nr;
  d->nranks = (int32_t)nk;
  /* Every row's layer range inside /layers (report and merge index /layers with it). */
  for (int64_t i = 0; !rc && i < d->njobs; i++) {
    const res_row *r = &d->jobs[i];
    if (r->status < RES_PENDING || r->status > RES_FAILED || r->layer_first < 0 ||
        r->layer_count < 0 || r->layer_first > d->nlayers - r->layer_count)
      rc = mon_fail("dataset '/jobs' row %lld: status %d, layers %lld+%d outside /layers (%lld "
                    "rows): corrupt file",
                    (long long)i, r->status, (long long)r->layer_first, r->layer_count,
                    (long long)d->nlayers);
  }
  for (int64_t i = 0; !rc && i < d->njobs; i++)
    d->jobs[i].p.id = strtoull(d->jobs[i].job_id, NULL, 16);
  if (rc) {
    mon_fail_ctx("%s", path);
    res_data_free(d);
  }
  return rc;
}

void res_data_free(res_data *d) {
  free(d->jobs);
  free(d->layers);
  free(d->runs);
  free(d->ranks);
  free(d->sweep_text);
  free(d->sweep_path);
  free(d->sweep_name);
  free(d->part);
  memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- merge */

typedef struct {
  res_data *parts;
  int nparts;
  const res_run_row *run;
} merge_arg;

static int merge_runs_fn(hid_t f, void *arg) {
  merge_arg *a = arg;
  hid_t d = H5Dopen2(f, "runs", H5P_DEFAULT), k = H5Dopen2(f, "ranks", H5P_DEFAULT);
  hid_t t = RUN_TYPE(), kt = RANK_TYPE();
  int rc = d < 0 || k < 0 ? h5fail("datasets 'runs', 'ranks'") : 0;
  /* The merged file's runs: the merge itself (run 0, written by res_create), then every run of
   * every part, renumbered; the job rows' `run` columns were renumbered the same way. */
  int32_t base = 1;
  for (int p = 0; !rc && p < a->nparts; p++) {
    res_data *pd = &a->parts[p];
    for (int32_t r = 0; r < pd->nruns; r++) pd->runs[r].run += base;
    for (int32_t r = 0; r < pd->nranks; r++) pd->ranks[r].run += base;
    rc = append_rows(d, t, (hsize_t)pd->nruns, pd->runs) ||
         append_rows(k, kt, (hsize_t)pd->nranks, pd->ranks);
    base += pd->nruns;
  }
  H5Tclose(t), H5Tclose(kt);
  if (d >= 0) H5Dclose(d);
  if (k >= 0) H5Dclose(k);
  return rc;
}

int res_merge(const char *out, const char *const *paths, int nparts, int force, int allow_missing,
              const res_run_row *run) {
  if (nparts < 1) return mon_fail("merge: no input files");
  for (int p = 0; p < nparts; p++)
    if (!strcmp(paths[p], out)) return mon_fail("merge: output %s is also an input", out);
  res_lock *lock = NULL;
  if (res_lock_acquire(&lock, out, "moncim merge")) return -1;
  if (res_check_writable(out, force)) {
    res_lock_release(lock);
    return -1;
  }
  res_data *parts = calloc((size_t)nparts, sizeof *parts);
  if (!parts) {
    res_lock_release(lock);
    return mon_fail("out of memory");
  }
  int rc = 0;
  for (int p = 0; p < nparts && !rc; p++) rc = res_read(&parts[p], paths[p]);
  for (int p = 1; p < nparts && !rc; p++)
    if (parts[p].list_hash != parts[0].list_hash || parts[p].njobs != parts[0].njobs)
      rc = mon_fail("merge: %s and %s hold different sweeps (job list hashes %016llx, %016llx)",
                    paths[0], paths[p], (unsigned long long)parts[0].list_hash,
                    (unsigned long long)parts[p].list_hash);
  job_sweep s;
  memset(&s, 0, sizeof s);
  if (!rc && job_sweep_parse(&s, parts[0].sweep_path, parts[0].sweep_text))
    rc = mon_fail_ctx("merge: the sweep stored in %s", paths[0]);
  if (!rc && (job_sweep_list_hash(&s) != parts[0].list_hash || s.njobs != parts[0].njobs))
    rc = mon_fail("merge: %s: its stored sweep text does not expand to its job list", paths[0]);
  int64_t n = rc ? 0 : s.njobs;
  int32_t *nl = rc ? NULL : malloc(((size_t)n + 1) * sizeof *nl);
  int *src = rc ? NULL : malloc(((size_t)n + 1) * sizeof *src);
  if (!rc && (!nl || !src)) rc = mon_fail("out of memory");
  int64_t missing = 0;
  for (int64_t i = 0; !rc && i < n; i++) {
    nl[i] = parts[0].jobs[i].layer_count;
    src[i] = -1;
    for (int p = 0; p < nparts && !rc; p++) {
      const res_row *r = &parts[p].jobs[i];
      if (r->layer_count != nl[i] || r->layer_first != parts[0].jobs[i].layer_first ||
          r->p.id != parts[0].jobs[i].p.id) {
        rc = mon_fail("merge: job %lld has a different layout in %s and %s", (long long)i, paths[0],
                      paths[p]);
        break;
      }
      if (r->status == RES_PENDING) continue;
      if (src[i] < 0 || (parts[src[i]].jobs[i].status == RES_FAILED && r->status == RES_DONE)) {
        src[i] = p;
        continue;
      }
      const res_row *q = &parts[src[i]].jobs[i];
      if (q->status == RES_DONE && r->status == RES_DONE) {
        int differs = res_row_differs(q, r);
        for (int32_t l = 0; l < r->layer_count && !differs; l++)
          differs = res_layer_differs(&parts[src[i]].layers[q->layer_first + l],
                                      &parts[p].layers[r->layer_first + l]);
        if (differs)
          rc = mon_fail("merge: job %lld (%s) is done in %s and %s with different results",
                        (long long)i, r->job_id, paths[src[i]], paths[p]);
      }
    }
    if (src[i] < 0) missing++;
  }
  if (!rc && missing && !allow_missing)
    rc = mon_fail("merge: %lld of %lld jobs are done in none of the inputs (--allow-missing "
                  "writes them as pending)",
                  (long long)missing, (long long)n);
  if (!rc) {
    res_run_row r0 = *run;
    r0.run = 0;
    rc = res_create(out, &s, nl, &r0);
  }
  if (!rc) {
    /* Job rows: renumber `run` to the merged /runs (see merge_runs_fn). */
    int32_t *base = malloc((size_t)nparts * sizeof *base);
    if (!base) rc = mon_fail("out of memory");
    for (int p = 0, b = 1; !rc && p < nparts; p++) base[p] = b, b += parts[p].nruns;
    res_file *f = NULL;
    if (!rc) rc = res_open(&f, out, &s);
    for (int64_t i = 0; !rc && i < n; i++) {
      if (src[i] < 0) continue;
      res_row row = parts[src[i]].jobs[i];
      row.run += base[src[i]];
      rc = res_write_job(f, &row, &parts[src[i]].layers[row.layer_first]);
    }
    if (f && res_close(f) && !rc) rc = -1;
    free(base);
  }
  if (!rc) {
    merge_arg a = {parts, nparts, run};
    rc = atomic_edit(out, merge_runs_fn, &a);
  }
  free(nl);
  free(src);
  job_sweep_destroy(&s);
  for (int p = 0; p < nparts; p++) res_data_free(&parts[p]);
  free(parts);
  if (!rc) rc = res_lock_check(lock);
  res_lock_release(lock);
  return rc;
}
