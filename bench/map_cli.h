/* Options shared by `moncim map` and `moncim trace` (bench/cmd_map.c parses them). */
#ifndef MONCIM_MAP_CLI_H
#define MONCIM_MAP_CLI_H

#include "mapping.h"

typedef struct {
  const char *model;    /* workload name or model dir */
  const char *hw_file;  /* NULL: built-in defaults */
  const char *strategy; /* --strategy / --mapping, NULL = all (map) */
  int nblocks;          /* MAP_NBLOCKS_CONFIG unless given */
  int array_size;       /* 0: as the hardware file says */
  map_settings set;     /* --dense-layout ... --adc-lossless (hw fields override the file) */
  map_options opt;      /* budgets and objective; the settings' map_options fields applied */
  int json, binary;
  const char *out; /* trace output file, "-" = stdout */
} map_cli;

/* Returns 0, -1 for --help, or a BENCH_* status after printing the error. trace = 1 accepts
 * --out/--binary instead of --json. */
int bench_map_parse(const char *cmd, int argc, char **argv, map_cli *c, int trace);
/* Hardware and model from the options; 0 or BENCH_FAIL after printing the error. */
int bench_map_setup(const char *cmd, const map_cli *c, map_model *mm, map_hw *hw);

#endif
