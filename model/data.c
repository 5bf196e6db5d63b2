/* The King James Bible text of Debian's bible-kjv and moncim's fixed train / held-out split.
 *
 * `bible -f gen1:1-rev22:21` prints one verse per line as "<Book><chapter>:<verse> <text>"
 * (e.g. "Ge1:1 In the beginning ..."; book abbreviations such as Ge, 1Sm, Mark, Jas). The
 * reference is not text and is stripped: each verse becomes "<text>\n". Held-out evaluation
 * text: the whole books Ruth, Jonah, Mark and James (Jas), in canonical order; training text:
 * every other verse in canonical order. The raw `bible` output is cached after the first call
 * in $MONCIM_CACHE_DIR, else $XDG_CACHE_HOME/moncim, else $HOME/.cache/moncim, else /tmp. */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define KJV_CMD        "bible -f gen1:1-rev22:21"
#define KJV_CACHE_FILE "kjv-bible-kjv-4.38.txt"
/* Sanity bounds of the full text: 31,102 verses (bible-kjv 4.38), 4.4 MB of output. */
#define KJV_VERSES    31102
#define KJV_MAX_BYTES (64u << 20)

static const char *const heldout_books[] = {"Ruth", "Jonah", "Mark", "Jas"};

static int cache_path(char *buf, size_t n) {
  const char *e = getenv("MONCIM_CACHE_DIR");
  char dir[3072];
  if (e && *e) {
    snprintf(dir, sizeof dir, "%s", e);
  } else if ((e = getenv("XDG_CACHE_HOME")) && *e) {
    snprintf(dir, sizeof dir, "%s/moncim", e);
  } else if ((e = getenv("HOME")) && *e) {
    snprintf(dir, sizeof dir, "%s/.cache", e);
    mkdir(dir, 0777);
    snprintf(dir, sizeof dir, "%s/.cache/moncim", e);
  } else {
    snprintf(dir, sizeof dir, "/tmp/moncim-cache");
  }
  if (mkdir(dir, 0777) && errno != EEXIST) return -1;
  snprintf(buf, n, "%s/%s", dir, KJV_CACHE_FILE);
  return 0;
}

static int read_stream(FILE *f, char **out, size_t *len, const char *what) {
  size_t cap = 1 << 22, n = 0;
  char *b = malloc(cap);
  if (!b) return mon_fail("kjv: out of memory");
  for (;;) {
    if (n == cap) {
      if (cap >= KJV_MAX_BYTES) {
        free(b);
        return mon_fail("kjv: %s is larger than %u bytes", what, KJV_MAX_BYTES);
      }
      char *nb = realloc(b, cap *= 2);
      if (!nb) {
        free(b);
        return mon_fail("kjv: out of memory");
      }
      b = nb;
    }
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  if (ferror(f)) {
    free(b);
    return mon_fail("kjv: read error on %s", what);
  }
  *out = b;
  *len = n;
  return 0;
}

static int raw_text(char **raw, size_t *len) {
  char path[4096];
  int have_cache = !cache_path(path, sizeof path);
  if (have_cache) {
    FILE *f = fopen(path, "rb");
    if (f) {
      int rc = read_stream(f, raw, len, path);
      fclose(f);
      if (!rc) return 0;
    }
  }
  FILE *p = popen(KJV_CMD " 2>/dev/null", "r");
  if (!p) return mon_fail("kjv: cannot run '%s': %s", KJV_CMD, strerror(errno));
  int rc = read_stream(p, raw, len, "the output of '" KJV_CMD "'");
  int st = pclose(p);
  if (rc) return -1;
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || *len == 0) {
    free(*raw);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
      return mon_fail("kjv: the 'bible' program is not installed (install bible-kjv: make setup)");
    return mon_fail("kjv: '%s' failed (status %d, %zu bytes); is bible-kjv installed? (install "
                    "bible-kjv: make setup)",
                    KJV_CMD, st, *len);
  }
  if (have_cache) {
    const void *parts[1] = {*raw};
    size_t lens[1] = {*len};
    mon_write_atomic(path, 1, parts, lens); /* a cache: failing to write it is not an error */
  }
  return 0;
}

int mon_kjv_text(uint8_t **train, size_t *ntrain, uint8_t **eval, size_t *neval) {
  char *raw;
  size_t len;
  *train = *eval = NULL;
  if (raw_text(&raw, &len)) return -1;
  uint8_t *tr = malloc(len), *ev = malloc(len);
  if (!tr || !ev) {
    free(raw), free(tr), free(ev);
    return mon_fail("kjv: out of memory");
  }
  size_t nt = 0, ne = 0, pos = 0;
  long verses = 0;
  while (pos < len) {
    char *nl = memchr(raw + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - raw) : len;
    const char *line = raw + pos;
    size_t ll = end - pos;
    pos = end + 1;
    if (ll == 0) continue;
    /* "<book><chapter>:<verse> <text>": book = optional digit + letters */
    size_t i = 0;
    if (i < ll && line[i] >= '1' && line[i] <= '3') i++;
    size_t bs = 0;
    while (i < ll && ((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= 'a' && line[i] <= 'z')))
      i++;
    bs = i;
    size_t j = i;
    while (j < ll && ((line[j] >= '0' && line[j] <= '9') || line[j] == ':')) j++;
    if (bs == 0 || j == i || j >= ll || line[j] != ' ') {
      mon_fail("kjv: line %ld does not start with a verse reference: \"%.40s\"", verses + 1, line);
      free(raw), free(tr), free(ev);
      return -1;
    }
    int held = 0;
    for (size_t b = 0; b < sizeof heldout_books / sizeof *heldout_books; b++)
      held |= strlen(heldout_books[b]) == bs && !memcmp(line, heldout_books[b], bs);
    uint8_t *dst = held ? ev + ne : tr + nt;
    size_t n = ll - j - 1;
    memcpy(dst, line + j + 1, n);
    dst[n] = '\n';
    if (held)
      ne += n + 1;
    else
      nt += n + 1;
    verses++;
  }
  free(raw);
  if (verses != KJV_VERSES || ne == 0) {
    free(tr), free(ev);
    return mon_fail("kjv: parsed %ld verses (%zu held-out bytes), expected %d verses of "
                    "bible-kjv 4.38",
                    verses, ne, KJV_VERSES);
  }
  *train = tr, *ntrain = nt, *eval = ev, *neval = ne;
  return 0;
}
