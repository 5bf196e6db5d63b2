/* A per-test temporary directory for Criterion suites (.init / .fini), shared by the tests
 * that write files. Header-only: each test executable is one translation unit. */
#ifndef MONCIM_TEST_TMPDIR_H
#define MONCIM_TEST_TMPDIR_H

#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

/* Creates /tmp/PREFIX_XXXXXX as `tmpdir`. */
static inline void tmpdir_create(const char *prefix) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/%s_XXXXXX", prefix);
  cr_assert_not_null(mkdtemp(tmpdir));
}

/* Removes `tmpdir` and the files in it (tests write no subdirectories). */
static inline void tmpdir_remove(void) {
  DIR *d = opendir(tmpdir);
  if (!d) return;
  struct dirent *e;
  char p[600];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(tmpdir);
}

#endif
