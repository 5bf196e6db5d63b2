/* Per-thread last-error message shared by every moncim library. */
#include "kernels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[MON_ERRLEN];

int mon_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, sizeof errbuf, fmt, ap);
  va_end(ap);
  return -1;
}

int mon_fail_ctx(const char *fmt, ...) {
  char prefix[MON_ERRLEN], old[MON_ERRLEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, errbuf, sizeof old);
  snprintf(errbuf, sizeof errbuf, "%s: %s", prefix, old);
  return -1;
}

const char *mon_errmsg(void) { return errbuf; }
