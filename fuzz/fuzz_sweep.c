/* A sweep file: parsing, expansion into jobs, exclusions, checks against the synthetic
 * executor, and the canonical job strings and hashes. */
#include "fuzz_util.h"
#include "jobs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  job_sweep s;
  if (job_sweep_parse(&s, "fuzz.sweep", fuzz_cstr(data, size)) == 0) {
    job_sweep_check(&s, &job_executor_synthetic);
    job_sweep_list_hash(&s);
  }
  job_sweep_destroy(&s);
  return 0;
}
