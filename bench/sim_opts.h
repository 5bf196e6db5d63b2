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
  /* periphery conventions (NULL / < 0: the hardware file's) */
  const char *adc_per;     /* column | pair */
  const char *in_encoding; /* twos | signmag */
  const char *in_range;    /* dynamic | static */
  const char *adc_cal;     /* step | slice */
  double in_percentile;
} bench_sim_opts;

enum {
  BENCH_OPT_ADC_PER = 1001,
  BENCH_OPT_IN_ENCODING,
  BENCH_OPT_IN_RANGE,
  BENCH_OPT_ADC_CAL,
  BENCH_OPT_IN_PERCENTILE
};

/* getopt_long entries of the shared options (their codes: w m a d i b c e l r p n s and
 * BENCH_OPT_*). */
#define BENCH_SIM_LONGOPTS                                                                         \
  {"hw", required_argument, 0, 'w'}, {"mapping", required_argument, 0, 'm'},                       \
      {"adc-bits", required_argument, 0, 'a'}, {"dac-bits", required_argument, 0, 'd'},            \
      {"in-bits", required_argument, 0, 'i'}, {"w-bits", required_argument, 0, 'b'},               \
      {"cell-bits", required_argument, 0, 'c'}, {"encoding", required_argument, 0, 'e'},           \
      {"lossless", no_argument, 0, 'l'}, {"adc-range", required_argument, 0, 'r'},                 \
      {"percentile", required_argument, 0, 'p'}, {"noise", required_argument, 0, 'n'},             \
      {"seed", required_argument, 0, 's'}, {"adc-per", required_argument, 0, BENCH_OPT_ADC_PER},   \
      {"in-encoding", required_argument, 0, BENCH_OPT_IN_ENCODING},                                \
      {"in-range", required_argument, 0, BENCH_OPT_IN_RANGE},                                      \
      {"adc-cal", required_argument, 0, BENCH_OPT_ADC_CAL}, {                                      \
    "in-percentile", required_argument, 0, BENCH_OPT_IN_PERCENTILE                                 \
  }

/* Usage lines of the periphery options, shared by the commands' help texts. */
#define BENCH_SIM_PERIPHERY_USAGE                                                                  \
  "  --adc-per column|pair      ADC per device column, or after the analog G+ - G- subtraction\n"  \
  "                             (signed, one conversion per pair; needs differential)\n"           \
  "  --in-encoding twos|signmag two's complement inputs, or sign + magnitude drive\n"              \
  "  --in-range dynamic|static  per-vector input scale, or one calibrated scale per factor\n"      \
  "                             (clipped elements counted)\n"                                      \
  "  --in-percentile P          static input full scale at this percentile of |x| (100)\n"         \
  "  --adc-cal step|slice       calibrated ADC range per (DAC step, line) or per line\n"           \
  "                             (weight slice) shared by all steps\n"

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
