/* moncim report: summary tables of a sweep's HDF5 file (results/report.c). Needs no MPI. */
#include "bench.h"
#include "base.h"
#include "results.h"

#include <getopt.h>

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
  static const struct option lo[] = {
      {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
    case 'j':
      json = 1;
      break;
    case 'h':
      usage(stdout);
      return BENCH_OK;
    default:
      fprintf(stderr, "Try 'moncim report --help'.\n");
      return BENCH_USAGE;
    }
  }
  if (optind != argc - 1) return bench_usage_error(CMD, "expected one HDF5 file");
  res_data d;
  if (res_read(&d, argv[optind])) return bench_error(CMD, "%s", mon_errmsg());
  int rc = res_report(&d, stdout, json);
  res_data_free(&d);
  return rc ? bench_error(CMD, "%s", mon_errmsg()) : BENCH_OK;
}
