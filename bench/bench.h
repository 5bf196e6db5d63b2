/* bench: the moncim command-line harness. Each subcommand is a function in its own file. */
#ifndef MONCIM_BENCH_H
#define MONCIM_BENCH_H

#include <stdio.h>

/* Exit statuses of every subcommand. BENCH_INTERRUPTED: a sweep stopped by SIGTERM/SIGINT/
 * SIGUSR1 after recording everything it finished; `--resume` continues it (75 is sysexits.h's
 * EX_TEMPFAIL, "try again later"). */
enum { BENCH_OK = 0, BENCH_FAIL = 1, BENCH_USAGE = 2, BENCH_INTERRUPTED = 75 };

typedef struct {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} bench_command;

int bench_cmd_info(int argc, char **argv);
int bench_cmd_project(int argc, char **argv);
int bench_cmd_map(int argc, char **argv);
int bench_cmd_trace(int argc, char **argv);
int bench_cmd_sweep(int argc, char **argv); /* MPI: the only subcommand that initializes it */
int bench_cmd_merge(int argc, char **argv);
int bench_cmd_report(int argc, char **argv);
int bench_cmd_bench(int argc, char **argv);    /* cimsim: bench mvm */
int bench_cmd_simulate(int argc, char **argv); /* cimsim: model accuracy on the simulator */
int bench_cmd_mvm(int argc, char **argv);      /* cimsim: one matrix from files */

/* Shared CLI helpers. */
double bench_now(void);      /* monotonic seconds */
void bench_version(FILE *f); /* "moncim X.Y.Z (commit ...)" */
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

/* GPT-2 model commands (issue 3): cmd_train.c, cmd_d2s.c, cmd_eval.c. */
int bench_cmd_train(int argc, char **argv);
int bench_cmd_d2s(int argc, char **argv);
int bench_cmd_eval(int argc, char **argv);
/* Shared by train / d2s / eval (cmd_train.c). */
#include <stdint.h>
#include "model.h"
struct cJSON;
int bench_model_train_run(const char *cmd, mon_model *m, const uint8_t *text, size_t len,
                          const mon_train_opts *o, const char *out, int save_every, int quiet,
                          struct cJSON *log, double *secs);
int bench_model_eval_json(const char *cmd, const mon_model *m, const uint8_t *ev, size_t nev,
                          int64_t positions, struct cJSON *parent, const char *key,
                          mon_eval_result *res);
int bench_write_json(const char *cmd, const char *dir, const char *file, const struct cJSON *j);
void bench_model_describe(const mon_model *m, struct cJSON *o);
int bench_train_option(const char *cmd, int c, const char *arg, mon_train_opts *o, int *save_every);
extern const char bench_train_options_help[];
/* getopt_long entries of the training options (codes 1000..1009, bench_train_option). */
#define BENCH_TRAIN_LONGOPTS                                                                       \
  {"steps", required_argument, NULL, 1000}, {"batch", required_argument, NULL, 1001},              \
      {"warmup", required_argument, NULL, 1002}, {"lr", required_argument, NULL, 1003},            \
      {"min-lr", required_argument, NULL, 1004}, {"weight-decay", required_argument, NULL, 1005},  \
      {"clip", required_argument, NULL, 1006}, {"seed", required_argument, NULL, 1007},            \
      {"log-every", required_argument, NULL, 1008}, {                                              \
    "save-every", required_argument, NULL, 1009                                                    \
  }

#endif
