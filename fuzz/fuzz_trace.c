/* The binary CIM command-stream reader, and the text writer over what it accepts. */
#include "fuzz_util.h"
#include "mapping.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f) return 0;
  map_stream cs;
  if (map_stream_read_binary(&cs, f, "fuzz.trace") == 0) {
    FILE *out = fopen("/dev/null", "w");
    if (out) {
      map_stream_write_text(&cs, out);
      fclose(out);
    }
    map_stream_destroy(&cs);
  }
  fclose(f);
  return 0;
}
