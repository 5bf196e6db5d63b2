/* A model's config.json (GPT-2 fields and moncim's monarch_nblocks). */
#include "fuzz_util.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mon_gpt2_config c;
  mon_gpt2_config_read(&c, fuzz_scratch_file(data, size));
  return 0;
}
