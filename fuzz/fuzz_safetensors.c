/* The safetensors reader (header JSON, offsets, shapes, dtypes, metadata) and the conversion of
 * every tensor it accepts to float32. */
#include "fuzz_util.h"
#include "base.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mon_safetensors st;
  if (mon_st_open(&st, fuzz_scratch_file(data, size))) return 0;
  for (int i = 0; i < st.ntensors; i++) {
    float *x = NULL;
    if (!mon_st_read_f32(&st, st.tensors[i].name, 0, NULL, &x)) free(x);
    mon_st_find(&st, st.tensors[i].name);
  }
  mon_st_meta_get(&st, "format");
  mon_st_close(&st);
  return 0;
}
