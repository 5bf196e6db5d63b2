/* moncim merge: combines the HDF5 files of the parts of one sweep (sweep --part I/N, e.g. a
 * Slurm job array) into one file equal to a single run's. Needs no MPI. */
#include "bench.h"
#include "base.h"
#include "results.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define CMD "merge"

static void usage(FILE *f) {
  fprintf(f, "usage: moncim merge -o OUT.h5 PART.h5 [PART.h5 ...]\n\n"
             "Combines files written by 'moncim sweep FILE --part I/N' (same sweep file) into one\n"
             "file holding every job, as one run of the whole sweep would have written it\n"
             "(apart from run columns such as rank and wall time). Jobs done in several inputs\n"
             "must agree.\n\n"
             "  -o, --output OUT.h5  merged file (must not exist unless --force)\n"
             "      --force          overwrite OUT.h5\n"
             "      --allow-missing  write jobs done in no input as pending (default: error)\n"
             "  -h, --help           this text\n");
}

int bench_cmd_merge(int argc, char **argv) {
  const char *out = NULL;
  int force = 0, allow_missing = 0, nops;
  const bench_opt opts[] = {BENCH_STR_SHORT("output", 'o', &out), BENCH_FLAG("force", &force),
                            BENCH_FLAG("allow-missing", &allow_missing), BENCH_END};
  /* recorded as typed, before bench_options moves the operands to the front */
  res_run_row run;
  memset(&run, 0, sizeof run);
  snprintf(run.kind, sizeof run.kind, "merge");
  size_t len = (size_t)snprintf(run.command_line, sizeof run.command_line, "moncim");
  for (int i = 0; i < argc && len < sizeof run.command_line; i++)
    len += (size_t)snprintf(run.command_line + len, sizeof run.command_line - len, " %s", argv[i]);
  int rc = bench_options(CMD, argc, argv, opts, usage, &nops);
  if (rc != BENCH_CONTINUE) return rc;
  if (!out) return bench_usage_error(CMD, "-o OUT.h5 is required");
  if (!nops) return bench_usage_error(CMD, "expected at least one input file");
  gethostname(run.host, sizeof run.host - 1);
  snprintf(run.version, sizeof run.version, "%s", bench_version_string());
  snprintf(run.git_commit, sizeof run.git_commit, "%s", bench_git_commit());
  run.ranks = 1;
  run.threads = 1;
  run.start_unix = res_now_unix();
  res_iso_time(run.start_unix, run.start_time, sizeof run.start_time);
  run.end_unix = run.start_unix;
  snprintf(run.end_time, sizeof run.end_time, "%s", run.start_time);
  if (res_merge(out, (const char *const *)argv + 1, nops, force, allow_missing, &run))
    return bench_error(CMD, "%s", mon_errmsg());
  fprintf(stderr, "moncim merge: %d files -> %s\n", nops, out);
  return BENCH_OK;
}
