/* The single-writer lock of an output file: PATH.lock beside PATH.
 *
 * Why not HDF5's own file lock: writers replace PATH by rename (res_create, atomic edits), and
 * HDF5 locks the inode it opened, so a second writer that opens PATH after a rename never sees
 * the first writer's lock. PATH.lock is never renamed; flock() on it excludes every other
 * writer for as long as the holder lives, and the kernel drops it when the holder dies, however
 * it dies (a SIGKILLed run leaves no stale lock to clean up by hand). The file's content (pid,
 * host, start time) only serves the message a second writer prints.
 *
 * Removing the lock file is safe: the holder unlinks it while still holding the lock, and a
 * writer that locked an inode some other process then unlinked notices that PATH.lock is no
 * longer the inode it holds and starts over. The same check finds a lock that was lost while
 * running (the file removed or replaced by hand): res_lock_check fails and the run stops.
 * Once it holds the lock, a writer also removes the temporary files a killed writer left.
 *
 * flock works on local filesystems and, through the kernel's emulation with POSIX locks, on
 * NFS; Lustre needs the `flock` mount option (without it flock fails with ENOSYS and the
 * message says so). */
#define _DEFAULT_SOURCE /* flock */
#include "base.h"
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct res_lock {
  int fd;
  dev_t dev;
  ino_t ino;
  char path[4096];
};

/* The holder's "pid host time" line, for the message of a writer that finds the lock taken. */
static void holder_of(int fd, char *buf, size_t n) {
  /* The holder writes its line just after taking the lock: a writer that lost the race by a
   * moment may read the file before that, so it waits up to 0.5 s for the line to appear. */
  for (int tries = 0; tries < 50; tries++) {
    ssize_t r = pread(fd, buf, n - 1, 0);
    buf[r > 0 ? r : 0] = '\0';
    if (strchr(buf, '\n')) break;
    nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
  }
  buf[strcspn(buf, "\n")] = '\0';
  if (!buf[0]) snprintf(buf, n, "unknown (empty lock file)");
}

int res_lock_acquire(res_lock **out, const char *path, const char *what) {
  *out = NULL;
  res_lock *l = calloc(1, sizeof *l);
  if (!l) return mon_fail("out of memory");
  if ((size_t)snprintf(l->path, sizeof l->path, "%s.lock", path) >= sizeof l->path) {
    free(l);
    return mon_fail("%s: path too long", path);
  }
  for (int attempt = 0;; attempt++) {
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
      int e = errno;
      free(l);
      return mon_fail("%s: cannot create output (its lock file %s.lock): %s", path, path,
                      strerror(e));
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB)) {
      int e = errno;
      char holder[256];
      holder_of(l->fd, holder, sizeof holder);
      close(l->fd);
      free(l);
      if (e == EWOULDBLOCK)
        return mon_fail("%s is being written by another moncim: its lock %s.lock is held by %s",
                        path, path, holder);
      return mon_fail("%s: cannot lock %s.lock: %s%s", path, path, strerror(e),
                      e == ENOSYS || e == EOPNOTSUPP
                          ? " (this filesystem has no flock; on Lustre mount with -o flock)"
                          : "");
    }
    struct stat a, b;
    if (fstat(l->fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
      l->dev = a.st_dev;
      l->ino = a.st_ino;
      break;
    }
    /* The previous holder removed the file between our open and our lock: take the new one. */
    close(l->fd);
    if (attempt == 100) {
      free(l);
      return mon_fail("%s: the lock file %s.lock keeps being replaced", path, path);
    }
  }
  char host[256] = "?", line[512];
  gethostname(host, sizeof host - 1);
  char when[32];
  res_iso_time(res_now_unix(), when, sizeof when);
  int n = snprintf(line, sizeof line, "pid %ld on %s since %s (%s)\n", (long)getpid(), host, when,
                   what ? what : "moncim");
  if (ftruncate(l->fd, 0) || pwrite(l->fd, line, (size_t)n, 0) != n) {
    /* only the message of a second writer suffers: the lock itself is held */
  }
  /* Holding the lock, no other writer runs: temporary files beside the output are leftovers of
   * a killed writer (mon_write_atomic names them PATH.tmp.XXXXXX). */
  char pattern[4200];
  snprintf(pattern, sizeof pattern, "%s.tmp.??????", path);
  glob_t g;
  if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
  globfree(&g);
  *out = l;
  return 0;
}

int res_lock_check(const res_lock *l) {
  struct stat b;
  if (!l) return 0;
  if (stat(l->path, &b))
    return mon_fail("lost the lock: %s was removed (%s) while this run wrote the output, so "
                    "another writer may have started",
                    l->path, strerror(errno));
  if (b.st_dev != l->dev || b.st_ino != l->ino)
    return mon_fail("lost the lock: %s was replaced while this run wrote the output, so another "
                    "writer may have started",
                    l->path);
  return 0;
}

void res_lock_release(res_lock *l) {
  if (!l) return;
  /* Unlink while still holding the lock, and only the inode we hold (see the top comment). */
  struct stat b;
  if (stat(l->path, &b) == 0 && b.st_dev == l->dev && b.st_ino == l->ino) unlink(l->path);
  close(l->fd);
  free(l);
}
