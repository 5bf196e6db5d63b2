/* moncim results: the HDF5 file of a sweep (schema, writer, resume, reader, merge, report).
 *
 * The layout and every column are documented in results/SCHEMA.md. In short: /jobs has one row
 * per job of the sweep (job_index order), /layers the per-layer detail rows of every job
 * (job i owns rows layer_first .. layer_first + layer_count - 1), /runs one row per invocation
 * (first run and every resume), /ranks the busy/idle time of every rank of every run, and the
 * root attributes hold the provenance.
 *
 * Kill safety (why the writer looks the way it does): the file's whole structure -- every
 * dataset with all its rows, chunks allocated early -- is built in memory, written to a
 * temporary file beside PATH and renamed over PATH, so PATH is never half-built. While jobs run,
 * the writer only overwrites raw bytes of preallocated rows, and HDF5 metadata never changes; a
 * finished job's row is written and flushed with status "pending", then its status is set to "done"
 * and flushed again. A SIGKILL at any moment therefore leaves a file that opens and in which every
 * row marked done is complete. Structural edits after creation (a new run row, the end-of-run
 * statistics) edit an in-memory copy that again replaces PATH by an atomic rename. HDF5 never
 * writes those files itself, so a full disk is one failed write() that leaves PATH as it was.
 *
 * Single writer: only rank 0 opens the file (see SCHEMA.md for the reasons), and a lock beside
 * the output (res_lock_acquire) keeps a second process from writing it at the same time.
 * Nothing here needs MPI to be initialized.
 */
#ifndef MONCIM_RESULTS_H
#define MONCIM_RESULTS_H

#include "jobs.h"

#include <stdint.h>
#include <stdio.h>

#define RES_SCHEMA_VERSION 5
#define RES_ERR_LEN        128
#define RES_HOST_LEN       64
#define RES_CMD_LEN        1024

typedef enum { RES_PENDING = 0, RES_DONE = 1, RES_FAILED = 2 } res_status;

/* One row of /jobs. Run-dependent columns (may differ between two runs of the same sweep)
 * are marked "run" in the column table and in SCHEMA.md. */
typedef struct {
  job_params p;            /* the job's parameters (job_index, job_id, axes) */
  char job_id[17];         /* p.id as 16 hex digits (what logs and reports print) */
  int64_t layer_first;     /* first row of this job in /layers */
  int32_t layer_count;     /* number of rows of this job in /layers */
  job_metrics m;           /* accuracy and cost; NaN until done */
  int8_t status;           /* res_status */
  char error[RES_ERR_LEN]; /* failure message; on a pending row "interrupted: ..." (a run stopped
                            * by a signal while the job ran), else "" */
  int32_t run;             /* run: index into /runs of the run that computed it */
  int32_t rank;            /* run: MPI rank that ran it */
  int32_t threads;         /* run: OpenMP threads of that rank */
  char host[RES_HOST_LEN]; /* run: host name of that rank */
  double started_unix;     /* run: start time, seconds since the Unix epoch */
  double wall_s;           /* run: wall time of the job, s */
  double cpu_s;            /* run: CPU time of the rank process during the job (all threads), s */
  double peak_rss_mb;      /* run: peak resident memory of the rank process during the job, MiB */
} res_row;

/* One row of /layers. */
typedef struct {
  int64_t job_index; /* owning job */
  int32_t layer;     /* 0-based layer number within the job */
  job_layer l;       /* detail; NaN until the job is done */
} res_layer_row;

/* One row of /runs: one invocation of `moncim sweep` (or `moncim merge`). */
typedef struct {
  int32_t run;
  char kind[16]; /* "sweep", "resume" or "merge" */
  char command_line[RES_CMD_LEN];
  char host[RES_HOST_LEN]; /* host of rank 0 */
  char version[32];
  char git_commit[48];
  char executor[32];
  char part[32]; /* "I/N" when the run was restricted with --part, else "" */
  int32_t ranks, threads;
  double start_unix, end_unix;       /* end NaN: still running or killed */
  char start_time[32], end_time[32]; /* ISO 8601 UTC */
  int64_t jobs_run, jobs_failed;
} res_run_row;

/* One row of /ranks: how one rank spent one run. */
typedef struct {
  int32_t run, rank;
  char host[RES_HOST_LEN];
  int32_t threads;
  int64_t jobs;
  double busy_s; /* inside jobs */
  double idle_s; /* waiting for work or for the end of the sweep: wall_s - busy_s */
  double wall_s; /* from the first job request to the end of the sweep */
  int64_t cache_hits, cache_misses;
} res_rank_row;

/* ---------------------------------------------------------------- column tables */

typedef enum { RES_T_I8, RES_T_I32, RES_T_I64, RES_T_F64, RES_T_STR, RES_T_STATUS } res_type;

typedef struct {
  const char *name;
  res_type type;
  size_t off, size; /* in the row struct */
  const char *unit; /* "" when dimensionless */
  int run;          /* 1: run-dependent (excluded when comparing runs) */
  const char *doc;
} res_column;

extern const res_column res_job_columns[];
extern const int res_njob_columns;
extern const res_column res_layer_columns[];
extern const int res_nlayer_columns;
extern const res_column res_run_columns[];
extern const int res_nrun_columns;
extern const res_column res_rank_columns[];
extern const int res_nrank_columns;

/* Fills a row from a job's parameters: status pending, metrics NaN, run columns empty. */
void res_row_init(res_row *r, const job_params *p, int64_t layer_first, int32_t layer_count);
/* Nonzero if a and b differ in a column that is not run-dependent. */
int res_row_differs(const res_row *a, const res_row *b);
int res_layer_differs(const res_layer_row *a, const res_layer_row *b);

/* ---------------------------------------------------------------- writing */

/* The single-writer lock of an output (results/lock.c): PATH.lock, held from before anything
 * is written until the end of the run; the kernel releases it when the holder dies. `what`
 * (e.g. "moncim sweep") goes into the lock file for the message a second writer gets. Fails,
 * naming the lock and its holder, when another process holds it. Holding it, removes the
 * temporary files (PATH.tmp.*) of a writer that was killed. */
typedef struct res_lock res_lock;
int res_lock_acquire(res_lock **out, const char *path, const char *what);
/* Fails ("lost the lock") when PATH.lock is no longer the file this process locked. */
int res_lock_check(const res_lock *l);
/* Removes PATH.lock and releases it; NULL is a no-op. */
void res_lock_release(res_lock *l);

typedef struct res_file res_file;

/* Checks, before any job runs, that `path` can be created: the directory exists and is
 * writable, and (unless force) path does not exist. */
int res_check_writable(const char *path, int force);

/* Creates path for sweep s: every job row (pending), nlayers[i] layer rows for job i, the
 * first run row (run 0) and the root provenance. Built in memory, written beside path and
 * renamed over it (mon_write_atomic). */
int res_create(const char *path, const job_sweep *s, const int32_t *nlayers,
               const res_run_row *run0);
/* Appends a run row (run->run is set to its index) and makes it the root provenance. */
int res_begin_run(const char *path, res_run_row *run);
/* Closes run `run`: end time and counts in its /runs row, its /ranks rows, end_time attribute. */
int res_end_run(const char *path, const res_run_row *run, const res_rank_row *ranks, int nranks);

/* Opens an existing file for writing job rows; fails unless it holds exactly s's job list. */
int res_open(res_file **out, const char *path, const job_sweep *s);
int64_t res_njobs(const res_file *f);
res_status res_job_status(const res_file *f, int64_t index);
int32_t res_layer_count(const res_file *f, int64_t index);
int32_t res_nruns(const res_file *f);
const char *res_file_part(const res_file *f); /* root attribute "part" ("" = whole sweep) */
/* Writes a finished job: layer rows and job row with status pending, flush; then status
 * (row->status: done or failed), flush. row->layer_count must match the file; layer_first is
 * taken from the file's layout. */
int res_write_job(res_file *f, const res_row *row, const res_layer_row *layers);
int res_close(res_file *f);

/* ---------------------------------------------------------------- reading */

typedef struct {
  int64_t njobs, nlayers;
  res_row *jobs;
  res_layer_row *layers;
  int32_t nruns, nranks;
  res_run_row *runs;
  res_rank_row *ranks;
  char *sweep_text, *sweep_path, *sweep_name, *part;
  uint64_t list_hash;
  int schema_version;
} res_data;

/* Reads a whole file (works while a sweep writes it: file locking is not used for reading). */
int res_read(res_data *d, const char *path);
void res_data_free(res_data *d);

/* Combines part files of one sweep into out (which must not exist unless force): each job's
 * row is taken from the part where it is done; rows done in several parts must agree. Fails if
 * the parts come from different sweeps, or if a job is done nowhere unless allow_missing. */
int res_merge(const char *out, const char *const *parts, int nparts, int force, int allow_missing,
              const res_run_row *run);

/* ---------------------------------------------------------------- report */

/* Prints the summary tables (or, with json, one JSON object) of a file's done jobs. */
int res_report(const res_data *d, FILE *out, int json);

/* Current time as seconds since the epoch and as ISO 8601 UTC. */
double res_now_unix(void);
void res_iso_time(double unix_s, char *buf, size_t n);

#endif
