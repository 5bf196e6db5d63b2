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
} bench_sim_opts;

#define BENCH_SIM_NOPTS 14
/* The shared options into t (--noise none = ideal devices), their defaults into o. */
void bench_sim_options(bench_opt t[BENCH_SIM_NOPTS], bench_sim_opts *o, const char *strategy);
/* The hardware (file or defaults, then the overrides; array_size > 0 sets rows = cols), the
 * strategy and the simulator configuration. Returns BENCH_OK, or the exit status after printing
 * the error. */
int bench_sim_setup(const char *cmd, const bench_sim_opts *o, int array_size, map_hw *hw,
                    cim_config *cfg, const map_strategy **st);

#endif
