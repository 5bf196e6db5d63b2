/* Helpers shared by the fuzz targets. */
#ifndef MONCIM_FUZZ_UTIL_H
#define MONCIM_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Writes data to a per-process scratch file (for readers that take a path, e.g. mmap) and
 * returns its path; aborts if the file cannot be written (a broken harness, not a finding). */
const char *fuzz_scratch_file(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (a static buffer reused between calls). */
const char *fuzz_cstr(const uint8_t *data, size_t size);
#endif
