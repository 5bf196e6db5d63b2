/* A hardware description file (configs/hw-*.json) and the quantities derived from it. */
#include "fuzz_util.h"
#include "mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  map_hw hw;
  if (map_hw_load(&hw, fuzz_scratch_file(data, size))) return 0;
  map_hw_adcs_per_array(&hw);
  map_hw_slices(&hw);
  map_hw_lossless_adc_bits(&hw, hw.rows);
  return 0;
}
