/* bench: the moncim command-line harness. Each subcommand is a function in its own file. */
#ifndef MONCIM_BENCH_H
#define MONCIM_BENCH_H

#include <stdio.h>

/* Exit statuses of every subcommand. */
enum { BENCH_OK = 0, BENCH_FAIL = 1, BENCH_USAGE = 2 };

typedef struct {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} bench_command;

int bench_cmd_info(int argc, char **argv);
int bench_cmd_project(int argc, char **argv);
int bench_cmd_map(int argc, char **argv);
int bench_cmd_trace(int argc, char **argv);
int bench_cmd_sweep(int argc, char **argv);  /* MPI: the only subcommand that initializes it */
int bench_cmd_merge(int argc, char **argv);
int bench_cmd_report(int argc, char **argv);
int bench_cmd_bench(int argc, char **argv);    /* cimsim: bench mvm */
int bench_cmd_simulate(int argc, char **argv); /* cimsim: model accuracy on the simulator */
int bench_cmd_mvm(int argc, char **argv);      /* cimsim: one matrix from files */

/* Shared CLI helpers. */
double bench_now(void);                       /* monotonic seconds */
void bench_version(FILE *f);                  /* "moncim X.Y.Z (commit ...)" */
const char *bench_git_commit(void);
const char *bench_version_string(void);
/* Parses an integer option value in [lo, hi]; on error prints "moncim CMD: --OPT ..." and
 * returns -1. */
int bench_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out);
int bench_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                       double *out);
/* Prints "moncim CMD: message" to stderr and returns BENCH_FAIL. */
int bench_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "moncim CMD: message\nTry 'moncim CMD --help'." and returns BENCH_USAGE. */
int bench_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
