/* moncim report: summary tables of a sweep's HDF5 file (results/report.c). Needs no MPI. */
#include "bench.h"
#include "base.h"
#include "results.h"

#define CMD "report"

static void usage(FILE *f) {
  fprintf(f, "usage: moncim report OUT.h5 [--json]\n\n"
             "Prints what a reader of a sweep wants first: progress and provenance, the best\n"
             "accuracy per area (Pareto front), the best accuracy per mapping and ADC bits, the\n"
             "accuracy-vs-ADC-bits table (mean over seeds) and the cost per mapping and nblocks.\n"
             "Works on a file that a sweep is still writing.\n\n"
             "  --json      print the same data as one JSON object\n"
             "  -h, --help  this text\n");
}

int bench_cmd_report(int argc, char **argv) {
  int json = 0, nops;
  const bench_opt opts[] = {BENCH_FLAG("json", &json), BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, &nops);
  if (rc != BENCH_CONTINUE) return rc;
  if (nops != 1) return bench_usage_error(CMD, "expected one HDF5 file");
  res_data d;
  if (res_read(&d, argv[1])) return bench_error(CMD, "%s", mon_errmsg());
  rc = res_report(&d, stdout, json);
  res_data_free(&d);
  return rc ? bench_error(CMD, "%s", mon_errmsg()) : BENCH_OK;
}
