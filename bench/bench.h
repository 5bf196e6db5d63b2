/* bench: the moncim command-line harness. Each subcommand is a function in its own file. */
#ifndef MONCIM_BENCH_H
#define MONCIM_BENCH_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "mapping.h"
#include "model.h"

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
int bench_cmd_train(int argc, char **argv);    /* model: train from scratch */
int bench_cmd_d2s(int argc, char **argv);      /* model: dense -> Monarch + fine-tuning */
int bench_cmd_eval(int argc, char **argv);     /* model: held-out accuracy */
int bench_cmd_tokenize(int argc, char **argv); /* model: text <-> token ids */

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
/* The array size, converter resolutions and encoding of hw as members of o (JSON outputs). */
void bench_hw_json(cJSON *o, const map_hw *hw);
/* Nonzero: the message functions below and bench_options print nothing (MPI ranks other than
 * 0 of moncim sweep, which return the same status as rank 0 without repeating its words). */
extern int bench_quiet;
/* Prints "moncim CMD: message" to stderr and returns BENCH_FAIL. */
int bench_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "moncim CMD: message\nTry 'moncim CMD --help'." and returns BENCH_USAGE. */
int bench_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- options */

/* What bench_options returns when the command should go on (any other value is its exit status:
 * BENCH_OK after --help, BENCH_USAGE after a message on stderr). */
#define BENCH_CONTINUE (-1)

typedef enum {
  BENCH_OPT_FLAG,   /* no value; *(int *)dst = 1 */
  BENCH_OPT_STR,    /* *(const char **)dst = the value (points into argv) */
  BENCH_OPT_INT,    /* *(int *)dst, within [lo, hi] */
  BENCH_OPT_DOUBLE, /* *(double *)dst, within [lo, hi] */
  BENCH_OPT_CHOICE, /* *(int *)dst = index of the value in choices ("a|b|c") */
  BENCH_OPT_FN,     /* fn(cmd, value, dst): 0, or -1 after printing the error */
  BENCH_OPT_TABLE   /* dst is another option table, searched in place of this entry */
} bench_opt_kind;

/* One option of a command's table (ended by an entry with name NULL). */
typedef struct {
  const char *name; /* long name without "--" */
  bench_opt_kind kind;
  void *dst;
  double lo, hi;       /* INT, DOUBLE */
  const char *choices; /* CHOICE */
  int (*fn)(const char *cmd, const char *arg, void *dst);
  char short_name; /* also accepted as -c, or 0 */
} bench_opt;

#define BENCH_STR_SHORT(n, c, p)                                                                   \
  { .name = n, .kind = BENCH_OPT_STR, .dst = (p), .short_name = c }
#define BENCH_INT_SHORT(n, c, p, l, h)                                                             \
  { .name = n, .kind = BENCH_OPT_INT, .dst = (p), .lo = l, .hi = h, .short_name = c }
#define BENCH_FLAG_SHORT(n, c, p)                                                                  \
  { .name = n, .kind = BENCH_OPT_FLAG, .dst = (p), .short_name = c }
#define BENCH_FLAG(n, p)                                                                           \
  { .name = n, .kind = BENCH_OPT_FLAG, .dst = (p) }
#define BENCH_STR(n, p)                                                                            \
  { .name = n, .kind = BENCH_OPT_STR, .dst = (p) }
#define BENCH_INT(n, p, l, h)                                                                      \
  { .name = n, .kind = BENCH_OPT_INT, .dst = (p), .lo = l, .hi = h }
#define BENCH_DOUBLE(n, p, l, h)                                                                   \
  { .name = n, .kind = BENCH_OPT_DOUBLE, .dst = (p), .lo = l, .hi = h }
#define BENCH_CHOICE(n, p, c)                                                                      \
  { .name = n, .kind = BENCH_OPT_CHOICE, .dst = (p), .choices = c }
#define BENCH_FN(n, f, p)                                                                          \
  { .name = n, .kind = BENCH_OPT_FN, .dst = (p), .fn = f }
#define BENCH_TABLE(t)                                                                             \
  { .name = "", .kind = BENCH_OPT_TABLE, .dst = (void *)(t) }
#define BENCH_END                                                                                  \
  { .name = NULL }

/* Parses argv[1..argc-1] against opts: "--name value", "--name=value", short names, "--" (the
 * rest are operands), --help / -h (prints usage to stdout). Operands are moved, in order, to
 * argv[1..*noperands]; noperands NULL means the command takes none. Every error prints
 * "moncim CMD: ...\nTry 'moncim CMD --help'." Returns BENCH_CONTINUE, BENCH_OK or BENCH_USAGE. */
int bench_options(const char *cmd, int argc, char **argv, const bench_opt *opts,
                  void (*usage)(FILE *), int *noperands);

/* ---------------------------------------------------------------- model commands (model_cli.c) */

/* The training options of train and d2s (their --help text: bench_train_options_help). */
#define BENCH_TRAIN_NOPTS 11
void bench_train_options(bench_opt t[BENCH_TRAIN_NOPTS], mon_train_opts *o, int *save_every);
extern const char bench_train_options_help[];
/* Trains m with a progress table on stderr (unless quiet), the loss curve and hyper-parameters
 * into log, a checkpoint in `out` every save_every steps. BENCH_OK or BENCH_FAIL (printed). */
int bench_model_train_run(const char *cmd, mon_model *m, const uint8_t *text, size_t len,
                          const mon_train_opts *o, const char *out, int save_every, int quiet,
                          cJSON *log, double *secs);
/* Held-out evaluation into parent[key] = {positions, bits_per_char, top1, seconds}. */
int bench_model_eval_json(const char *cmd, const mon_model *m, const uint8_t *ev, size_t nev,
                          int64_t positions, cJSON *parent, const char *key, mon_eval_result *res);
/* Writes j to dir/file atomically. */
int bench_write_json(const char *cmd, const char *dir, const char *file, const cJSON *j);
void bench_model_describe(const mon_model *m, cJSON *o);

/* ---------------------------------------------------------------- map and trace (map_cli.c) */

typedef struct {
  const char *model;    /* workload name or model dir */
  const char *hw_file;  /* NULL: built-in defaults */
  const char *strategy; /* --strategy / --mapping, NULL = all (map) */
  int nblocks;          /* MAP_NBLOCKS_CONFIG unless given */
  int array_size;       /* 0: as the hardware file says */
  int objective;        /* --objective: 0 latency, 1 energy (into opt by bench_map_setup) */
  map_settings set;     /* --dense-layout ... --adc-lossless (map_settings_set; hw fields override
                           the hardware file) */
  map_options opt;      /* budgets and objective; the settings' map_options fields applied */
  int json, binary;
  const char *out; /* trace output file, "-" = stdout */
} map_cli;

#define BENCH_MAP_NOPTS 16
/* The shared options into t, their defaults into c. */
void bench_map_options(bench_opt t[BENCH_MAP_NOPTS], map_cli *c);
/* Hardware and model from the options; 0 or BENCH_FAIL after printing the error. */
int bench_map_setup(const char *cmd, map_cli *c, map_model *mm, map_hw *hw);

#endif
