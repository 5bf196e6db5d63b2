#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *fuzz_scratch_file(const uint8_t *data, size_t size) {
  static char path[256];
  if (!path[0]) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/moncim-fuzz-%ld", dir ? dir : "/tmp", (long)getpid());
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
    perror(path);
    abort();
  }
  return path;
}

const char *fuzz_cstr(const uint8_t *data, size_t size) {
  static char *buf;
  static size_t cap;
  if (size + 1 > cap) {
    free(buf);
    cap = size + 1;
    buf = malloc(cap);
    if (!buf) abort();
  }
  memcpy(buf, data, size);
  buf[size] = '\0';
  return buf;
}
