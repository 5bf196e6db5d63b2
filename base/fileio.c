/* Atomic file writes: readers of a checkpoint never see a half-written file, and a failed or
 * interrupted write leaves the previous file in place. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    /* Chunks of at most 1 GiB: some kernels cap a single write() below SSIZE_MAX anyway. */
    size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
    ssize_t n = write(fd, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Makes the rename durable. Best effort: some file systems refuse fsync on a directory, and
 * the file itself is already complete and in place when this runs. */
static void sync_parent_dir(const char *path) {
  char *dir = strdup(path);
  if (!dir) return;
  char *slash = strrchr(dir, '/');
  const char *d = ".";
  if (slash == dir)
    d = "/";
  else if (slash)
    *slash = '\0', d = dir;
  int fd = open(d, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

int mon_write_atomic(const char *path, int nparts, const void *const *parts, const size_t *lens) {
  size_t plen = strlen(path);
  if (plen == 0) return mon_fail("write: empty output path");
  if (path[plen - 1] == '/') return mon_fail("%s: expected a file name, got a directory", path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return mon_fail("%s: out of memory", path);
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return mon_fail("%s: cannot create a temporary file next to it: %s", path, strerror(e));
  }
  const char *what = NULL;
  int e = 0;
  /* mkstemp creates 0600; a checkpoint is an ordinary shared file. */
  if (fchmod(fd, 0644)) what = "fchmod", e = errno;
  for (int i = 0; !what && i < nparts; i++)
    if (lens[i] > 0 && write_all(fd, parts[i], lens[i])) what = "write", e = errno;
  if (!what && fsync(fd)) what = "fsync", e = errno;
  if (close(fd) && !what) what = "close", e = errno;
  if (!what && rename(tmp, path)) what = "rename", e = errno;
  if (what) {
    unlink(tmp);
    free(tmp);
    return mon_fail("%s: %s failed: %s (nothing written)", path, what, strerror(e));
  }
  free(tmp);
  sync_parent_dir(path);
  return 0;
}

char *mon_read_file(const char *path, size_t max_bytes, const char *what, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    mon_fail("%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
    fclose(f);
    mon_fail("%s: not a regular file", path);
    return NULL;
  }
  if ((unsigned long long)sb.st_size > max_bytes) {
    fclose(f);
    mon_fail("%s: %lld bytes, too large for %s", path, (long long)sb.st_size, what);
    return NULL;
  }
  char *buf = malloc((size_t)sb.st_size + 1);
  if (!buf) {
    fclose(f);
    mon_fail("%s: out of memory", path);
    return NULL;
  }
  size_t n = fread(buf, 1, (size_t)sb.st_size, f);
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    mon_fail("%s: read error", path);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}
