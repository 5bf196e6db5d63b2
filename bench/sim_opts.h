/* Converter, device and noise options shared by `moncim simulate` and `moncim mvm`: one parser
 * and one place that turns them into a hardware description and a simulator configuration. */
#ifndef MONCIM_BENCH_SIM_OPTS_H
#define MONCIM_BENCH_SIM_OPTS_H

#include <getopt.h>

#include "cimsim.h"
#include "mapping.h"

typedef struct {
  const char *hwfile;        /* NULL: built-in defaults (= configs/hw-default.json) */
  const char *strategy;      /* mapping strategy name */
  const char *noise;         /* cimsim noise spec, "" = ideal devices */
  const char *encoding;      /* NULL: the hardware file's */
  const char *range;         /* NULL: full scale */
  int adc, dac, in, w, cell; /* bits; -1 = the hardware file's */
  int lossless;
  int seed;
  double percentile;
} bench_sim_opts;

/* getopt_long entries of the shared options (their codes: w m a d i b c e l r p n s). */
#define BENCH_SIM_LONGOPTS                                                                         \
  {"hw", required_argument, 0, 'w'}, {"mapping", required_argument, 0, 'm'},                       \
      {"adc-bits", required_argument, 0, 'a'}, {"dac-bits", required_argument, 0, 'd'},            \
      {"in-bits", required_argument, 0, 'i'}, {"w-bits", required_argument, 0, 'b'},               \
      {"cell-bits", required_argument, 0, 'c'}, {"encoding", required_argument, 0, 'e'},           \
      {"lossless", no_argument, 0, 'l'}, {"adc-range", required_argument, 0, 'r'},                 \
      {"percentile", required_argument, 0, 'p'}, {"noise", required_argument, 0, 'n'}, {           \
    "seed", required_argument, 0, 's'                                                              \
  }

void bench_sim_opts_init(bench_sim_opts *o, const char *strategy);
/* Parses option code ch: 1 if it is a shared option (stored), 0 if not, -1 on a bad value (the
 * message is printed, the caller returns BENCH_USAGE). */
int bench_sim_option(const char *cmd, int ch, const char *arg, bench_sim_opts *o);
/* The hardware (file or defaults, then the overrides; array_size > 0 sets rows = cols), the
 * strategy and the simulator configuration. Returns BENCH_OK, or the exit status after printing
 * the error. */
int bench_sim_setup(const char *cmd, const bench_sim_opts *o, int array_size, map_hw *hw,
                    cim_config *cfg, const map_strategy **st);

#endif
