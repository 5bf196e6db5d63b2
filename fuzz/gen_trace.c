/* Writes the seed of the trace fuzzer: the DenseMap command stream of one block of the zoo
 * model's shape (d 256, ff 1024, nblocks 16) on 128 x 128 arrays, as `moncim trace --binary`
 * would; one layer keeps it under libFuzzer's input size limit. */
#include "mapping.h"

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: gen_trace OUT\n"), 2;
  map_model mm;
  map_hw hw;
  map_mapping mp;
  map_stream cs;
  map_hw_default(&hw);
  hw.rows = hw.cols = 128;
  if (map_model_transformer(&mm, "zoo-shape-1", 1, 256, 1024, 256, 16, 0, 1) ||
      map_build(&mp, &mm, &hw, MAP_DENSE, NULL) || map_schedule(&cs, &mp, &mm, &hw))
    return fprintf(stderr, "gen_trace: %s\n", mon_errmsg()), 1;
  FILE *f = fopen(argv[1], "wb");
  int rc = !f || map_stream_write_binary(&cs, f) || fclose(f);
  map_stream_destroy(&cs);
  map_mapping_destroy(&mp);
  map_model_destroy(&mm);
  return rc ? (fprintf(stderr, "gen_trace: cannot write %s\n", argv[1]), 1) : 0;
}
