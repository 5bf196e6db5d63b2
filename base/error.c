/* Per-thread last-error message shared by every moncim library. */
#include "base.h"

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
  char old[MON_ERRLEN];
  memcpy(old, errbuf, sizeof old);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(errbuf, sizeof errbuf, fmt, ap);
  va_end(ap);
  /* Append ": old" to whatever of the prefix fit; the message is truncated, never overrun. */
  size_t used = n < 0 ? 0 : ((size_t)n < sizeof errbuf ? (size_t)n : sizeof errbuf - 1);
  const char *parts[2] = {": ", old};
  for (int i = 0; i < 2; i++) {
    size_t len = strnlen(parts[i], sizeof old), room = sizeof errbuf - 1 - used;
    if (len > room) len = room;
    memcpy(errbuf + used, parts[i], len);
    used += len;
  }
  errbuf[used] = '\0';
  return -1;
}

const char *mon_errmsg(void) {
  return errbuf;
}
