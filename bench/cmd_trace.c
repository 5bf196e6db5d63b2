/* moncim trace: the CIM command stream of one token, as text or binary. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "trace";

static void usage(FILE *f) {
  fprintf(f, "usage: moncim trace --model M [--nblocks B|sqrt] [--hw FILE] [--array-size m]\n"
             "                    --mapping linear|sparse|dense|auto [--budget-arrays N |\n"
             "                    --budget-adcs N] [--objective latency|energy]\n"
             "                    --out FILE [--binary]\n\n"
             "Writes the CIM command stream of one token (PROGRAM prefix, then DRIVE / CONVERT /\n"
             "ACCUM / PERMUTE / DIGITAL with array, row/column ranges, buffer addresses and\n"
             "dependencies): text, one command a line, or --binary (docs/mapping.md). '-' for\n"
             "--out writes the text to stdout. Options as in `moncim map --help`.\n");
}

int bench_cmd_trace(int argc, char **argv) {
  map_cli c;
  bench_opt shared[BENCH_MAP_NOPTS];
  bench_map_options(shared, &c);
  const bench_opt opts[] = {BENCH_TABLE(shared), BENCH_STR("out", &c.out),
                            BENCH_FLAG("binary", &c.binary), BENCH_END};
  int rc = bench_options(CMD, argc, argv, opts, usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  if (!c.model) return bench_usage_error(CMD, "--model is required");
  if (!c.out) return bench_usage_error(CMD, "--out is required");
  if (!c.strategy) return bench_usage_error(CMD, "--mapping is required");
  const map_strategy *st = map_strategy_find(c.strategy);
  if (!st) return bench_usage_error(CMD, "--mapping: %s", mon_errmsg());
  if (c.binary && !strcmp(c.out, "-")) return bench_usage_error(CMD, "--binary needs a file");
  map_model mm;
  map_hw hw;
  memset(&mm, 0, sizeof mm);
  if ((rc = bench_map_setup(CMD, &c, &mm, &hw))) return rc;
  map_mapping mp;
  map_stream cs;
  if (map_build(&mp, &mm, &hw, st->id, &c.opt)) {
    map_model_destroy(&mm);
    return bench_error(CMD, "%s", mon_errmsg());
  }
  if (map_schedule(&cs, &mp, &mm, &hw)) {
    map_mapping_destroy(&mp);
    map_model_destroy(&mm);
    return bench_error(CMD, "%s", mon_errmsg());
  }
  FILE *f = !strcmp(c.out, "-") ? stdout : fopen(c.out, c.binary ? "wb" : "w");
  rc = BENCH_OK;
  if (!f) {
    rc = bench_error(CMD, "--out %s: %s", c.out, strerror(errno));
  } else {
    int w = c.binary ? map_stream_write_binary(&cs, f) : map_stream_write_text(&cs, f);
    if (f != stdout && fclose(f)) w = -1;
    if (w) rc = bench_error(CMD, "%s: write failed: %s", c.out, mon_errmsg());
  }
  if (!rc)
    fprintf(stderr, "moncim trace: %s: %d commands (%d PROGRAM), %d MVMs/token, %d arrays -> %s\n",
            st->name, cs.ncmds, cs.nprogram, cs.nmvm, mp.narrays, c.out);
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
  return rc;
}
