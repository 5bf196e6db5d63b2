/* Helpers shared by the subcommands: version, option parsing, error printing, clocks. */
#include "bench.h"
#include "moncim_version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *bench_git_commit(void) {
  return MONCIM_GIT_COMMIT;
}
const char *bench_version_string(void) {
  return MONCIM_VERSION;
}

void bench_version(FILE *f) {
  fprintf(f, "moncim %s (commit %s)\n", MONCIM_VERSION, MONCIM_GIT_COMMIT);
}

int bench_quiet;

static void say(const char *cmd, const char *fmt, va_list ap) {
  fprintf(stderr, "moncim %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int bench_error(const char *cmd, const char *fmt, ...) {
  if (bench_quiet) return BENCH_FAIL;
  va_list ap;
  va_start(ap, fmt);
  say(cmd, fmt, ap);
  va_end(ap);
  return BENCH_FAIL;
}

int bench_usage_error(const char *cmd, const char *fmt, ...) {
  if (bench_quiet) return BENCH_USAGE;
  va_list ap;
  va_start(ap, fmt);
  say(cmd, fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try 'moncim %s --help'.\n", cmd);
  return BENCH_USAGE;
}

int bench_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) {
    bench_usage_error(cmd, "--%s '%s': expected an integer in [%ld, %ld]", opt, s, lo, hi);
    return -1;
  }
  *out = (int)v;
  return 0;
}

int bench_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                       double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
    bench_usage_error(cmd, "--%s '%s': expected a number in [%g, %g]", opt, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

void bench_hw_json(cJSON *o, const map_hw *hw) {
  cJSON_AddNumberToObject(o, "rows", hw->rows);
  cJSON_AddNumberToObject(o, "cols", hw->cols);
  cJSON_AddNumberToObject(o, "adc_bits", hw->adc_bits);
  cJSON_AddNumberToObject(o, "dac_bits", hw->dac_bits);
  cJSON_AddNumberToObject(o, "in_bits", hw->in_bits);
  cJSON_AddNumberToObject(o, "w_bits", hw->w_bits);
  cJSON_AddNumberToObject(o, "cell_bits", hw->cell_bits);
  cJSON_AddStringToObject(o, "encoding", hw->differential ? "differential" : "offset");
}
