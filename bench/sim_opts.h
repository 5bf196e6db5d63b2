/* Converter, device and noise options shared by `moncim simulate` and `moncim mvm`: one parser
 * and one place that turns them into a hardware description and a simulator configuration. */
#ifndef MONCIM_BENCH_SIM_OPTS_H
#define MONCIM_BENCH_SIM_OPTS_H

#include "bench.h"
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

#define BENCH_SIM_NOPTS 19
/* The shared options into t (--noise none = ideal devices), their defaults into o. */
void bench_sim_options(bench_opt t[BENCH_SIM_NOPTS], bench_sim_opts *o, const char *strategy);

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
/* The hardware (file or defaults, then the overrides; array_size > 0 sets rows = cols), the
 * strategy and the simulator configuration. Returns BENCH_OK, or the exit status after printing
 * the error. */
int bench_sim_setup(const char *cmd, const bench_sim_opts *o, int array_size, map_hw *hw,
                    cim_config *cfg, const map_strategy **st);

#endif
