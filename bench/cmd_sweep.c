/* moncim sweep: runs a sweep file's jobs across MPI ranks into one HDF5 file.
 *
 * Distribution: rank 0 hands out jobs dynamically (most expensive first when the executor can
 * estimate costs), so ranks that finish early take more work. Rank 0 computes jobs too: a
 * coordinator thread on rank 0 does all MPI communication and all HDF5 writing while rank 0's
 * main thread runs jobs like any other rank (MPI_THREAD_SERIALIZED: only the coordinator thread
 * calls MPI while it lives). Results travel to rank 0, which is the single writer (see
 * results/SCHEMA.md for why). Each job runs with OpenMP inside; each rank keeps its executor
 * state (caches of shared work) across its jobs.
 *
 * Stopping (SIGTERM, SIGINT, SIGUSR1 on any rank -- what Slurm sends at the time limit, on
 * scancel, or through `--signal`): rank 0 hands out no more jobs and waits up to --grace seconds
 * for the running ones. If they all finish, the run ends normally. Otherwise the coordinator
 * marks the unfinished jobs' rows as interrupted (still pending, so --resume reruns them),
 * writes the run's end record, releases the lock and ends every rank with MPI_Abort from its
 * own thread (the only one allowed to call MPI). Either way the exit status is
 * BENCH_INTERRUPTED (75) when jobs remain.
 *
 * MPI errors return (MPI_ERRORS_RETURN) and every call goes through MPI_CHECK, which names the
 * call, file:line and MPI's own message before aborting.
 */
#include "bench.h"
#include "pipeline.h"
#include "results.h"

#include <mpi.h>
#include <omp.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CMD "sweep"

enum { TAG_RESULT = 11, TAG_JOB = 12 };

/* The one check of MPI return codes (STYLE rule 5). Called only from a thread allowed to call
 * MPI, so the MPI_Abort in it is legal too. */
#define MPI_CHECK(call)                                                                            \
  do {                                                                                             \
    int mpi_rc_ = (call);                                                                          \
    if (mpi_rc_ != MPI_SUCCESS) mpi_fail(#call, mpi_rc_, __FILE__, __LINE__);                      \
  } while (0)

static void mpi_fail(const char *call, int rc, const char *file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  fprintf(stderr, "moncim sweep: %s:%d: %s failed: %s\n", file, line, call, msg);
  MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
}

/* The stop request: the signal number, set by the handler on any thread of any rank. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
  stop_signal = sig;
}

static void install_stop_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

static const char *signame(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : sig == SIGUSR1 ? "SIGUSR1" : "?";
}

/* What a worker sends rank 0 ahead of its result: the stop signal it received, if any. */
typedef struct {
  int64_t stop_signal;
} msg_head;

/* Executors the harness knows, real pipeline first. */
static const job_executor *const executors[] = {
    &pipe_executor,
    &job_executor_synthetic,
};
static const int nexecutors = (int)(sizeof executors / sizeof executors[0]);

typedef struct {
  const char *sweep, *out, *executor, *part_str;
  int resume, force, verbose, dry_run, retry_failed;
  double progress_s; /* seconds between progress lines */
  double grace_s;    /* after a stop signal: how long running jobs may still finish, s */
  int part, nparts;
} sweep_opts;

static void usage(FILE *f) {
  fprintf(f,
          "usage: [mpirun -np N] moncim sweep FILE.sweep -o OUT.h5 [options]\n\n"
          "Runs every job of a sweep file (the cartesian product of its axes) across the MPI\n"
          "ranks, OpenMP threads inside each job, and writes one HDF5 file (results/SCHEMA.md).\n"
          "The file is safe against kills at any moment: --resume continues it.\n\n"
          "  -o, --output OUT.h5   output file (required unless --dry-run)\n"
          "      --resume          continue OUT.h5: run only the jobs not yet done (starts a\n"
          "                        new file if OUT.h5 does not exist)\n"
          "      --force           overwrite an existing OUT.h5\n"
          "      --part I/N        run only the jobs whose index %% N == I (job arrays; combine\n"
          "                        the parts with 'moncim merge')\n"
          "      --executor NAME   job executor (default: the sweep's 'executor', else real):\n");
  for (int i = 0; i < nexecutors; i++)
    fprintf(f, "                          %-10s %s\n", executors[i]->name, executors[i]->summary);
  fprintf(f, "      --retry-failed    with --resume, also rerun jobs that failed\n"
             "      --dry-run         parse and check the sweep, print the job count, run nothing\n"
             "      --progress SEC    seconds between progress lines on stderr (default 5)\n"
             "      --grace SEC       on SIGTERM, SIGINT or SIGUSR1: start no new job, give the\n"
             "                        running ones SEC seconds to finish (default 25, inside\n"
             "                        Slurm's default KillWait of 30 s), mark the others\n"
             "                        interrupted, and exit with status 75 (resumable)\n"
             "  -v, --verbose         one line per finished job on stderr\n"
             "  -h, --help            this text\n");
}

static int parse_opts(int argc, char **argv, sweep_opts *o, int rank) {
  memset(o, 0, sizeof *o);
  o->progress_s = 5.0;
  o->grace_s = 25.0;
  o->nparts = 1;
  const bench_opt opts[] = {BENCH_STR_SHORT("output", 'o', &o->out),
                            BENCH_FLAG("resume", &o->resume),
                            BENCH_FLAG("force", &o->force),
                            BENCH_STR("part", &o->part_str),
                            BENCH_STR("executor", &o->executor),
                            BENCH_FLAG("retry-failed", &o->retry_failed),
                            BENCH_FLAG("dry-run", &o->dry_run),
                            BENCH_DOUBLE("progress", &o->progress_s, 0, 1e6),
                            BENCH_DOUBLE("grace", &o->grace_s, 0, 1e6),
                            BENCH_FLAG_SHORT("verbose", 'v', &o->verbose),
                            BENCH_END};
  int nops;
  bench_quiet = rank != 0;
  int rc = bench_options(CMD, argc, argv, opts, usage, &nops);
  bench_quiet = 0;
  if (rc != BENCH_CONTINUE) return rc == BENCH_OK ? -1 : rc;
  if (nops != 1) return rank == 0 ? bench_usage_error(CMD, "expected one sweep file") : BENCH_USAGE;
  o->sweep = argv[1];
  if (!o->out && !o->dry_run)
    return rank == 0 ? bench_usage_error(CMD, "-o OUT.h5 is required") : BENCH_USAGE;
  if (o->resume && o->force)
    return rank == 0 ? bench_usage_error(CMD, "--resume and --force exclude each other")
                     : BENCH_USAGE;
  if (o->part_str && job_part_parse(o->part_str, &o->part, &o->nparts))
    return rank == 0 ? bench_usage_error(CMD, "%s", mon_errmsg()) : BENCH_USAGE;
  return 0;
}

/* ---------------------------------------------------------------- one job */

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so it can be measured per job. */
static void reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static double peak_rss_mb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  if (kb < 0) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    kb = ru.ru_maxrss;
  }
  return (double)kb / 1024.0;
}

typedef struct {
  int rank, threads;
  char host[RES_HOST_LEN];
  const job_sweep *s;
  const job_executor *ex;
  void *state;
  /* statistics of this rank */
  int64_t jobs;
  double busy_s;
} worker;

/* Runs job idx and fills its row and layer rows (layers must hold its planned count). */
static void run_job(worker *w, int64_t idx, res_row *row, res_layer_row *layers, int nl) {
  const job_params *p = &w->s->jobs[idx];
  res_row_init(row, p, 0, nl); /* layer_first: the writer takes it from the file's layout */
  job_layer *jl = malloc(((size_t)nl + 1) * sizeof *jl);
  for (int l = 0; l < nl && jl; l++) job_layer_nan(&jl[l]);
  reset_peak_rss();
  row->started_unix = res_now_unix();
  double t0 = bench_now(), c0 = cpu_seconds();
  int rc = jl ? w->ex->run(w->state, p, &row->m, jl) : mon_fail("out of memory");
  row->wall_s = bench_now() - t0;
  row->cpu_s = cpu_seconds() - c0;
  row->peak_rss_mb = peak_rss_mb();
  row->rank = w->rank;
  row->threads = w->threads;
  snprintf(row->host, sizeof row->host, "%s", w->host);
  if (rc) {
    row->status = RES_FAILED;
    snprintf(row->error, sizeof row->error, "%s", mon_errmsg());
    job_metrics_nan(&row->m);
    for (int l = 0; l < nl && jl; l++) job_layer_nan(&jl[l]);
  } else {
    row->status = RES_DONE;
  }
  for (int l = 0; l < nl; l++) {
    layers[l].job_index = idx;
    layers[l].layer = l;
    if (jl)
      layers[l].l = jl[l];
    else
      job_layer_nan(&layers[l].l);
  }
  free(jl);
  w->jobs++;
  w->busy_s += row->wall_s;
}

static int plan_layers(worker *w, int64_t idx, int *nl) {
  if (w->ex->plan(w->state, &w->s->jobs[idx], nl)) return -1;
  if (*nl < 0 || *nl > 1000000)
    return mon_fail("executor planned %d layers for job %lld", *nl, (long long)idx);
  return 0;
}

/* ---------------------------------------------------------------- coordinator (rank 0) */

typedef struct {
  /* fixed during the run */
  const sweep_opts *o;
  int nranks, local_worker;
  const int64_t *todo;
  int64_t ntodo;
  res_file *file;
  res_lock *lock;
  res_run_row *run;
  const job_sweep *s;
  worker *w0;
  /* progress */
  int64_t next, done, failed, written;
  double t_start, t_last;
  int fatal;
  /* stopping: the signal (0 = none), when it was seen, the job each rank runs (-1 = none) */
  int stop;
  double t_stop;
  int64_t *running;
  int64_t *rank_jobs; /* per rank: results received this run */
  double *rank_busy;  /* per rank: sum of their wall times, s */
  /* hand-off with rank 0's own worker thread */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int local_want;     /* the local worker waits for a job */
  int local_error;    /* the local worker cannot continue (out of memory): abort */
  res_row *local_row; /* its finished job, or NULL */
  res_layer_row *local_layers;
  int64_t local_job; /* assigned job; -1 = stop; -2 = none yet */
} coord;

static void fmt_dur(double s, char *buf, size_t n) {
  if (!(s >= 0) || s > 1e9) {
    snprintf(buf, n, "?");
  } else if (s < 60) {
    snprintf(buf, n, "%.0fs", s);
  } else if (s < 3600) {
    snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
  } else {
    snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
  }
}

static void progress(coord *c, int final) {
  double now = bench_now();
  if (!final && now - c->t_last < c->o->progress_s) return;
  c->t_last = now;
  double el = now - c->t_start;
  double rate = el > 0 ? (double)c->written / el : 0;
  char e[32], eta[32];
  fmt_dur(el, e, sizeof e);
  fmt_dur(rate > 0 ? (double)(c->ntodo - c->written) / rate : -1, eta, sizeof eta);
  fprintf(stderr,
          "moncim sweep: %lld/%lld jobs done (%lld failed), %.2f jobs/s, elapsed %s, "
          "ETA %s\n",
          (long long)c->written, (long long)c->ntodo, (long long)c->failed, rate, e,
          final ? "0s" : eta);
}

static void handle_result(coord *c, res_row *row, res_layer_row *layers) {
  if (c->fatal) return;
  row->run = c->run->run;
  int64_t i = row->p.index;
  if (row->rank >= 0 && row->rank < c->nranks) {
    c->running[row->rank] = -1;
    c->rank_jobs[row->rank]++;
    c->rank_busy[row->rank] += row->wall_s;
  }
  /* A writer that lost its lock must not write on: another one may have started. */
  if (res_lock_check(c->lock) || res_write_job(c->file, row, layers)) {
    fprintf(stderr, "moncim sweep: cannot record job %lld: %s\n", (long long)i, mon_errmsg());
    c->fatal = 1;
    return;
  }
  c->written++;
  if (row->status == RES_FAILED) {
    c->failed++;
    fprintf(stderr, "moncim sweep: job %lld (%s) failed: %s\n", (long long)i, row->job_id,
            row->error);
  }
  if (c->o->verbose)
    fprintf(stderr,
            "moncim sweep: done job %lld %s [%s nblocks=%d %s adc=%d dac=%d noise=%s "
            "seed=%lld] %.3fs rank %d\n",
            (long long)i, row->job_id, row->p.model, row->p.nblocks, row->p.mapping,
            row->p.adc_bits, row->p.dac_bits, row->p.noise, (long long)row->p.seed, row->wall_s,
            row->rank);
  progress(c, 0);
}

static void note_stop(coord *c, int sig) {
  if (c->stop || !sig) return;
  c->stop = sig;
  c->t_stop = bench_now();
  int64_t busy = 0;
  for (int r = 0; r < c->nranks; r++) busy += c->running[r] >= 0;
  fprintf(stderr,
          "moncim sweep: %s: starting no new job; %lld running, given %.0f s to finish "
          "(--grace)\n",
          signame(sig), (long long)busy, c->o->grace_s);
}

static int64_t next_job(coord *c, int rank) {
  note_stop(c, stop_signal);
  int64_t j = c->fatal || c->stop || c->next >= c->ntodo ? -1 : c->todo[c->next++];
  c->running[rank] = j;
  return j;
}

/* Rank rows of this run from what rank 0 saw (results received and their wall times), for an
 * end record written while other ranks are still inside jobs. Cache counters are unknown: -1. */
static void rank_rows_from_coord(const coord *c, res_rank_row *all, double wall) {
  for (int r = 0; r < c->nranks; r++) {
    memset(&all[r], 0, sizeof all[r]);
    all[r].run = c->run->run;
    all[r].rank = r;
    all[r].threads = c->w0->threads;
    all[r].jobs = c->rank_jobs[r];
    all[r].busy_s = c->rank_busy[r];
    all[r].wall_s = wall;
    all[r].idle_s = wall - c->rank_busy[r];
    all[r].cache_hits = all[r].cache_misses = -1;
    snprintf(all[r].host, sizeof all[r].host, "%s", r == 0 ? c->w0->host : "?");
  }
}

/* The grace period is over and jobs still run: mark them interrupted, close the run, end every
 * rank. Runs on the coordinator's thread (the MPI thread); does not return. */
static void abandon_running(coord *c) {
  int64_t marked = 0;
  for (int r = 0; r < c->nranks && !c->fatal; r++) {
    int64_t j = c->running[r];
    if (j < 0) continue;
    int32_t nl = res_layer_count(c->file, j);
    res_layer_row *layers = calloc((size_t)nl + 1, sizeof *layers);
    res_row row;
    res_row_init(&row, &c->s->jobs[j], 0, nl);
    row.run = c->run->run;
    row.rank = r;
    row.threads = c->w0->threads;
    snprintf(row.error, sizeof row.error, "interrupted: still running %.0f s after %s (run %d)",
             bench_now() - c->t_stop, signame(c->stop), c->run->run);
    for (int32_t l = 0; layers && l < nl; l++) {
      layers[l].job_index = j;
      layers[l].layer = l;
      job_layer_nan(&layers[l].l);
    }
    if (!layers || res_lock_check(c->lock) || res_write_job(c->file, &row, layers)) {
      fprintf(stderr, "moncim sweep: cannot mark job %lld interrupted: %s\n", (long long)j,
              layers ? mon_errmsg() : "out of memory");
      c->fatal = 1;
    } else {
      marked++;
    }
    free(layers);
  }
  int rc = c->fatal ? BENCH_FAIL : BENCH_INTERRUPTED;
  if (res_close(c->file)) rc = bench_error(CMD, "%s", mon_errmsg());
  c->file = NULL;
  c->run->end_unix = res_now_unix();
  res_iso_time(c->run->end_unix, c->run->end_time, sizeof c->run->end_time);
  c->run->jobs_run = c->written;
  c->run->jobs_failed = c->failed;
  res_rank_row *all = calloc((size_t)c->nranks, sizeof *all);
  if (all) rank_rows_from_coord(c, all, bench_now() - c->t_start);
  if (!all || res_lock_check(c->lock) || res_end_run(c->o->out, c->run, all, c->nranks))
    rc = bench_error(CMD, "cannot write the end of the run: %s", all ? mon_errmsg() : "no memory");
  free(all);
  res_lock_release(c->lock);
  c->lock = NULL;
  if (rc == BENCH_INTERRUPTED)
    fprintf(stderr,
            "moncim sweep: interrupted by %s: %lld jobs recorded this run, %lld still running "
            "marked interrupted, %lld not started; --resume continues %s\n",
            signame(c->stop), (long long)c->written, (long long)marked,
            (long long)(c->ntodo - c->next), c->o->out);
  fflush(stdout);
  fflush(stderr);
  if (c->nranks > 1) MPI_Abort(MPI_COMM_WORLD, rc);
  _exit(rc); /* one rank: its main thread is inside a job that cannot be cancelled */
}

static void coordinate(coord *c) {
  int active = c->nranks - 1 + (c->local_worker ? 1 : 0);
  size_t cap = 0;
  char *buf = NULL;
  while (active > 0) {
    int did = 0;
    note_stop(c, stop_signal);
    if (c->stop && bench_now() - c->t_stop > c->o->grace_s) abandon_running(c);
    if (c->local_worker) {
      pthread_mutex_lock(&c->mu);
      if (c->local_error) {
        fprintf(stderr, "moncim sweep: rank 0: out of memory for a job's layer rows\n");
        MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
      }
      if (c->local_want) {
        if (c->local_row) handle_result(c, c->local_row, c->local_layers);
        c->local_row = NULL;
        c->local_job = next_job(c, 0);
        if (c->local_job < 0) active--;
        c->local_want = 0;
        pthread_cond_broadcast(&c->cv);
        did = 1;
      }
      pthread_mutex_unlock(&c->mu);
    }
    if (c->nranks > 1) {
      int flag = 0;
      MPI_Status st;
      MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st));
      if (flag) {
        int n;
        MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &n));
        if ((size_t)n > cap) {
          cap = (size_t)n;
          free(buf);
          buf = malloc(cap);
          if (!buf) {
            fprintf(stderr, "moncim sweep: rank 0: out of memory for a %d-byte result\n", n);
            MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
          }
        }
        MPI_CHECK(MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
        if ((size_t)n >= sizeof(msg_head)) {
          msg_head h;
          memcpy(&h, buf, sizeof h);
          note_stop(c, (int)h.stop_signal);
        }
        if ((size_t)n >= sizeof(msg_head) + sizeof(res_row)) {
          res_row row;
          memcpy(&row, buf + sizeof(msg_head), sizeof row);
          handle_result(c, &row, (res_layer_row *)(buf + sizeof(msg_head) + sizeof row));
        }
        int64_t j = next_job(c, st.MPI_SOURCE);
        if (j < 0) active--;
        MPI_CHECK(MPI_Send(&j, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_JOB, MPI_COMM_WORLD));
        did = 1;
      }
    }
    if (!did) {
      /* Sleep until the local worker asks or ~0.5 ms pass (then poll MPI again): a busy loop
       * here would steal a core from the jobs. */
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 500000;
      if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
      pthread_mutex_lock(&c->mu);
      if (!c->local_want) pthread_cond_timedwait(&c->cv, &c->mu, &ts);
      pthread_mutex_unlock(&c->mu);
    }
  }
  free(buf);
}

static void *coord_thread(void *arg) {
  coordinate(arg);
  return NULL;
}

/* Rank 0's own worker: exchanges results for jobs with the coordinator thread. It never calls
 * MPI (the coordinator thread does, MPI_THREAD_SERIALIZED). */
static void local_worker(coord *c) {
  res_row row;
  res_layer_row *layers = NULL;
  size_t cap = 0;
  int have = 0;
  for (;;) {
    pthread_mutex_lock(&c->mu);
    c->local_row = have ? &row : NULL;
    c->local_layers = layers;
    c->local_want = 1;
    c->local_job = -2;
    pthread_cond_broadcast(&c->cv);
    while (c->local_want) pthread_cond_wait(&c->cv, &c->mu);
    int64_t j = c->local_job;
    pthread_mutex_unlock(&c->mu);
    if (j < 0) break;
    int nl = 0;
    if (plan_layers(c->w0, j, &nl)) nl = 0;
    if ((size_t)nl + 1 > cap) {
      cap = (size_t)nl + 1;
      free(layers);
      layers = malloc(cap * sizeof *layers);
      if (!layers) {
        pthread_mutex_lock(&c->mu);
        c->local_error = 1; /* the coordinator aborts: MPI_Abort is its call to make */
        pthread_mutex_unlock(&c->mu);
        for (;;) pause();
      }
    }
    run_job(c->w0, j, &row, layers, nl);
    row.layer_count = nl;
    have = 1;
  }
  free(layers);
}

/* Ranks > 0: send a result (or an empty hello), receive the next job, until told to stop. */
static void remote_worker(worker *w) {
  char *buf = malloc(sizeof(msg_head));
  size_t cap = sizeof(msg_head);
  int n = (int)sizeof(msg_head); /* bytes of the pending message */
  if (!buf) MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
  for (;;) {
    msg_head h = {stop_signal};
    memcpy(buf, &h, sizeof h);
    MPI_CHECK(MPI_Send(buf, n, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD));
    int64_t j;
    MPI_CHECK(MPI_Recv(&j, 1, MPI_INT64_T, 0, TAG_JOB, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    if (j < 0) break;
    int nl = 0;
    if (plan_layers(w, j, &nl)) nl = 0;
    size_t need = sizeof(msg_head) + sizeof(res_row) + (size_t)nl * sizeof(res_layer_row);
    if (need > cap) {
      cap = need;
      free(buf);
      buf = malloc(cap);
      if (!buf) {
        fprintf(stderr, "moncim sweep: rank %d: out of memory for a result\n", w->rank);
        MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
      }
    }
    res_row row;
    run_job(w, j, &row, (res_layer_row *)(buf + sizeof(msg_head) + sizeof row), nl);
    row.layer_count = nl;
    memcpy(buf + sizeof(msg_head), &row, sizeof row);
    n = (int)need;
  }
  free(buf);
}

/* ---------------------------------------------------------------- setup on rank 0 */

static void command_line(int argc, char **argv, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "moncim");
  for (int i = 0; i < argc && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, strchr(argv[i], ' ') ? " '%s'" : " %s", argv[i]);
}

static void run_row(res_run_row *r, const char *kind, int argc, char **argv, const worker *w,
                    int nranks, const sweep_opts *o) {
  memset(r, 0, sizeof *r);
  snprintf(r->kind, sizeof r->kind, "%s", kind);
  command_line(argc, argv, r->command_line, sizeof r->command_line);
  snprintf(r->host, sizeof r->host, "%s", w->host);
  snprintf(r->version, sizeof r->version, "%s", bench_version_string());
  snprintf(r->git_commit, sizeof r->git_commit, "%s", bench_git_commit());
  snprintf(r->executor, sizeof r->executor, "%s", w->ex->name);
  if (o->part_str) snprintf(r->part, sizeof r->part, "%d/%d", o->part, o->nparts);
  r->ranks = nranks;
  r->threads = w->threads;
  r->start_unix = res_now_unix();
  r->end_unix = NAN;
  res_iso_time(r->start_unix, r->start_time, sizeof r->start_time);
}

/* Creates or reopens the output; returns 0 and the open file, or -1 with a message. */
static int open_output(const sweep_opts *o, worker *w, res_run_row *run, int argc, char **argv,
                       int nranks, res_file **f) {
  const job_sweep *s = w->s;
  int exists = access(o->out, F_OK) == 0;
  if (exists && !o->resume && !o->force)
    return mon_fail("%s exists: use --resume to continue it or --force to overwrite it", o->out);
  if (exists && o->resume) {
    run_row(run, "resume", argc, argv, w, nranks, o);
    res_file *tmp;
    /* Check the file before adding a run row to it. */
    if (res_open(&tmp, o->out, s)) return -1;
    char want[32] = "";
    if (o->part_str) snprintf(want, sizeof want, "%d/%d", o->part, o->nparts);
    if (strcmp(res_file_part(tmp), want)) {
      mon_fail("%s was written with --part '%s', not '%s'", o->out, res_file_part(tmp), want);
      res_close(tmp);
      return -1;
    }
    if (res_close(tmp) || res_begin_run(o->out, run)) return -1;
    return res_open(f, o->out, s);
  }
  if (res_check_writable(o->out, o->force)) return -1;
  int32_t *nl = malloc(((size_t)s->njobs + 1) * sizeof *nl);
  if (!nl) return mon_fail("out of memory");
  for (int64_t i = 0; i < s->njobs; i++) {
    int n;
    if (plan_layers(w, i, &n)) {
      free(nl);
      return mon_fail_ctx("planning job %lld", (long long)i);
    }
    nl[i] = n;
  }
  run_row(run, "sweep", argc, argv, w, nranks, o);
  run->run = 0;
  int rc = res_create(o->out, s, nl, run);
  free(nl);
  return rc ? -1 : res_open(f, o->out, s);
}

typedef struct {
  double est;
  int64_t idx;
} est_idx;

static int by_cost(const void *a, const void *b) {
  const est_idx *x = a, *y = b;
  if (x->est != y->est) return x->est > y->est ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Jobs this run must compute, most expensive first (ties in index order). */
static int64_t make_todo(const sweep_opts *o, worker *w, res_file *f, int64_t **todo) {
  const job_sweep *s = w->s;
  est_idx *e = malloc(((size_t)s->njobs + 1) * sizeof *e);
  *todo = malloc(((size_t)s->njobs + 1) * sizeof **todo);
  if (!e || !*todo) {
    free(e);
    return -1;
  }
  int64_t n = 0;
  for (int64_t i = 0; i < s->njobs; i++) {
    if (i % o->nparts != o->part) continue;
    res_status st = res_job_status(f, i);
    if (st == RES_DONE || (st == RES_FAILED && !o->retry_failed)) continue;
    e[n].idx = i;
    e[n].est = w->ex->estimate ? w->ex->estimate(w->state, &s->jobs[i]) : 0.0;
    n++;
  }
  qsort(e, (size_t)n, sizeof *e, by_cost);
  for (int64_t k = 0; k < n; k++) (*todo)[k] = e[k].idx;
  free(e);
  return n;
}

/* ---------------------------------------------------------------- main */

/* Broadcasts rank 0's status; returns it on every rank. */
static int agree(int rc) {
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
  return rc;
}

static int sweep_main(int argc, char **argv, int rank, int nranks, int thread_level) {
  sweep_opts o;
  int rc = parse_opts(argc, argv, &o, rank);
  if (rc) return rc < 0 ? BENCH_OK : rc;

  /* Rank 0 reads the sweep file and broadcasts its text; every rank expands the same list. */
  job_sweep s;
  memset(&s, 0, sizeof s);
  long len = 0;
  if (rank == 0) {
    if (job_sweep_parse(&s, o.sweep, NULL)) {
      bench_error(CMD, "%s", mon_errmsg());
      len = -1;
    } else {
      len = (long)strlen(s.text);
    }
  }
  MPI_CHECK(MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD));
  if (len < 0) {
    job_sweep_destroy(&s);
    return BENCH_FAIL;
  }
  char *text = rank == 0 ? s.text : malloc((size_t)len + 1);
  if (!text) MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
  MPI_CHECK(MPI_Bcast(text, (int)len + 1, MPI_CHAR, 0, MPI_COMM_WORLD));
  if (rank != 0) {
    int prc = job_sweep_parse(&s, o.sweep, text);
    free(text);
    if (prc) {
      fprintf(stderr, "moncim sweep: rank %d: %s\n", rank, mon_errmsg());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

  worker w = {.rank = rank, .threads = omp_get_max_threads(), .s = &s};
  gethostname(w.host, sizeof w.host - 1);
  const char *exname = o.executor ? o.executor : s.executor;
  w.ex = job_executor_find(executors, nexecutors, exname);
  rc = 0;
  if (rank == 0) {
    if (!w.ex) {
      rc = bench_error(CMD, "unknown executor '%s'%s", exname,
                       strcmp(exname, "real") ? ""
                                              : " (the real pipeline is not built into this "
                                                "moncim yet; use --executor synthetic)");
    } else if (job_sweep_check(&s, w.ex)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
    }
  }
  if (agree(rc)) {
    job_sweep_destroy(&s);
    return BENCH_FAIL;
  }
  if (w.ex->create(&w.state, &s)) {
    fprintf(stderr, "moncim sweep: rank %d: executor %s: %s\n", rank, w.ex->name, mon_errmsg());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  if (o.dry_run) {
    if (rank == 0) {
      printf("%s: %lld jobs (%lld excluded), executor %s\n", s.path, (long long)s.njobs,
             (long long)s.nexcluded, w.ex->name);
      for (int a = 0; a < JOB_NAXES; a++) {
        printf("  %-9s", job_axis_name(a));
        for (int i = 0; i < s.axis[a].n; i++) printf(" %s", s.axis[a].value[i]);
        printf("\n");
      }
    }
    w.ex->destroy(w.state);
    job_sweep_destroy(&s);
    return BENCH_OK;
  }

  /* Rank 0: the output's lock, then the output file (fails here, before any job, if it cannot
   * be written) and job list. */
  res_file *f = NULL;
  res_lock *lock = NULL;
  res_run_row run;
  int64_t *todo = NULL, ntodo = 0;
  if (rank == 0) {
    if (res_lock_acquire(&lock, o.out, "moncim sweep")) {
      rc = bench_error(CMD, "%s", mon_errmsg());
    } else if (open_output(&o, &w, &run, argc, argv, nranks, &f)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
    } else if ((ntodo = make_todo(&o, &w, f, &todo)) < 0) {
      rc = bench_error(CMD, "out of memory");
    } else {
      int64_t mine = 0;
      for (int64_t i = 0; i < s.njobs; i++) mine += i % o.nparts == o.part;
      fprintf(stderr,
              "moncim sweep: %s: %lld jobs%s, %lld to run (%lld already in %s), %d "
              "ranks x %d threads, executor %s\n",
              s.name, (long long)s.njobs, o.nparts > 1 ? " in all" : "", (long long)ntodo,
              (long long)(mine - ntodo), o.out, nranks, w.threads, w.ex->name);
    }
  }
  if (agree(rc)) {
    res_close(f);
    res_lock_release(lock);
    free(todo);
    w.ex->destroy(w.state);
    job_sweep_destroy(&s);
    return BENCH_FAIL;
  }

  /* The sweep proper. */
  MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  double t0 = bench_now();
  coord c = {0};
  if (rank == 0) {
    c.o = &o;
    c.s = &s;
    c.lock = lock;
    c.run = &run;
    c.nranks = nranks;
    c.running = malloc((size_t)nranks * sizeof *c.running);
    c.rank_jobs = calloc((size_t)nranks, sizeof *c.rank_jobs);
    c.rank_busy = calloc((size_t)nranks, sizeof *c.rank_busy);
    if (!c.running || !c.rank_jobs || !c.rank_busy) {
      bench_error(CMD, "out of memory");
      MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
    }
    for (int r = 0; r < nranks; r++) c.running[r] = -1;
    c.local_worker = nranks == 1 || thread_level >= MPI_THREAD_SERIALIZED;
    c.todo = todo;
    c.ntodo = ntodo;
    c.file = f;
    c.w0 = &w;
    c.t_start = c.t_last = bench_now();
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    if (!c.local_worker)
      fprintf(stderr, "moncim sweep: MPI lacks MPI_THREAD_SERIALIZED: rank 0 only coordinates\n");
    if (c.local_worker) {
      pthread_t th;
      if (pthread_create(&th, NULL, coord_thread, &c)) {
        bench_error(CMD, "cannot start the coordinator thread");
        MPI_Abort(MPI_COMM_WORLD, BENCH_FAIL);
      }
      local_worker(&c);
      pthread_join(th, NULL);
    } else {
      coordinate(&c);
    }
    progress(&c, 1);
  } else {
    remote_worker(&w);
  }
  double wall = bench_now() - t0;

  /* Per-rank busy / idle time and cache statistics, to rank 0. */
  job_cache_stats cs = {0, 0};
  if (w.ex->stats) w.ex->stats(w.state, &cs);
  res_rank_row me = {.run = rank == 0 ? run.run : 0,
                     .rank = rank,
                     .threads = w.threads,
                     .jobs = w.jobs,
                     .busy_s = w.busy_s,
                     .wall_s = wall,
                     .idle_s = wall - w.busy_s,
                     .cache_hits = cs.hits,
                     .cache_misses = cs.misses};
  snprintf(me.host, sizeof me.host, "%s", w.host);
  res_rank_row *all = rank == 0 ? calloc((size_t)nranks, sizeof *all) : NULL;
  MPI_CHECK(
      MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD));

  rc = BENCH_OK;
  if (rank == 0) {
    for (int r = 0; r < nranks; r++) all[r].run = run.run;
    fprintf(stderr, "moncim sweep: %-5s %-16s %6s %9s %9s %6s %8s\n", "rank", "host", "jobs",
            "busy_s", "idle_s", "busy%", "cache");
    for (int r = 0; r < nranks; r++)
      fprintf(stderr, "moncim sweep: %-5d %-16.16s %6lld %9.2f %9.2f %5.1f%% %4lld/%lld\n", r,
              all[r].host, (long long)all[r].jobs, all[r].busy_s, all[r].idle_s,
              all[r].wall_s > 0 ? 100.0 * all[r].busy_s / all[r].wall_s : 0.0,
              (long long)all[r].cache_hits, (long long)(all[r].cache_hits + all[r].cache_misses));
    if (res_close(f)) rc = bench_error(CMD, "%s", mon_errmsg());
    run.end_unix = res_now_unix();
    res_iso_time(run.end_unix, run.end_time, sizeof run.end_time);
    run.jobs_run = c.written;
    run.jobs_failed = c.failed;
    note_stop(&c, stop_signal);
    int64_t left = c.ntodo - c.written;
    if (c.fatal) {
      rc = bench_error(CMD, "stopped: results could not be written");
    } else if (res_lock_check(lock) || res_end_run(o.out, &run, all, nranks)) {
      rc = bench_error(CMD, "%s", mon_errmsg());
    } else if (c.stop && left > 0) {
      fprintf(stderr,
              "moncim sweep: interrupted by %s: %lld jobs recorded this run, %lld not started; "
              "--resume continues %s\n",
              signame(c.stop), (long long)c.written, (long long)left, o.out);
      rc = BENCH_INTERRUPTED;
    } else if (c.failed) {
      rc = bench_error(CMD,
                       "%lld jobs failed (their rows hold status 'failed' and the error); "
                       "results in %s",
                       (long long)c.failed, o.out);
    } else {
      fprintf(stderr, "moncim sweep: results in %s\n", o.out);
    }
    res_lock_release(lock);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    free(c.running);
    free(c.rank_jobs);
    free(c.rank_busy);
  }
  free(all);
  free(todo);
  w.ex->destroy(w.state);
  job_sweep_destroy(&s);
  return agree(rc);
}

int bench_cmd_sweep(int argc, char **argv) {
  int provided, rank, nranks;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "moncim sweep: MPI_Init_thread failed\n");
    return BENCH_FAIL;
  }
  /* Errors come back as return codes, which MPI_CHECK reports with MPI's message. */
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &nranks));
  install_stop_handlers();
  int rc = sweep_main(argc, argv, rank, nranks, provided);
  MPI_CHECK(MPI_Finalize());
  return rc;
}
