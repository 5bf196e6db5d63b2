/* Sweep files: parsing, validation and expansion into the job list. */
#include "jobs.h"
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on a sweep: beyond this a typo (a..b with a huge b) is more likely than intent. */
#define JOB_MAX_JOBS 10000000LL

static const struct {
  const char *key;
  int is_int;
  long lo, hi; /* valid range of integer values */
  const char *dflt;
} axis_def[JOB_NAXES] = {
    [JOB_AX_MODELS] = {"models", 0, 0, 0, NULL},
    [JOB_AX_HARDWARE] = {"hardware", 0, 0, 0, "default"},
    [JOB_AX_NBLOCKS] = {"nblocks", 1, 1, 65536, "1"},
    [JOB_AX_MAPPINGS] = {"mappings", 0, 0, 0, "linear"},
    [JOB_AX_NOISE] = {"noise", 0, 0, 0, "none"},
    [JOB_AX_DAC_BITS] = {"dac_bits", 1, 1, 16, "1"},
    [JOB_AX_ADC_BITS] = {"adc_bits", 1, 0, 24, "8"}, /* 0 = ideal converter (cimsim) */
    [JOB_AX_DIGITAL_LANES] = {"digital_lanes", 1, 0, 1 << 20, "0"}, /* 0 = the hardware's */
    [JOB_AX_SEEDS] = {"seeds", 1, 0, LONG_MAX / 2, "1"},
};

const char *job_axis_name(job_axis_id a) {
  return a >= 0 && a < JOB_NAXES ? axis_def[a].key : "?";
}

static int axis_lookup(const char *key) {
  for (int a = 0; a < JOB_NAXES; a++)
    if (!strcmp(key, axis_def[a].key)) return a;
  return -1;
}

/* ---------------------------------------------------------------- hashing */

uint64_t job_hash64(const void *data, size_t n) {
  const unsigned char *b = data;
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
  }
  return mon_hash64(h);
}

static int opt_cmp(const void *a, const void *b) {
  return strcmp(((const job_option *)a)->key, ((const job_option *)b)->key);
}

int job_canonical(const job_params *p, const job_sweep *s, char *buf, size_t n) {
  size_t len = 0;
  int w = snprintf(buf, n,
                   "model=%s;hardware=%s;nblocks=%d;mapping=%s;noise=%s{%s};dac_bits=%d;"
                   "adc_bits=%d;seed=%lld;",
                   p->model, p->hardware, p->nblocks, p->mapping, p->noise, p->noise_spec,
                   p->dac_bits, p->adc_bits, (long long)p->seed);
  if (w < 0 || (size_t)w >= n) return -1;
  len = (size_t)w;
  if (p->digital_lanes) {
    w = snprintf(buf + len, n - len, "digital_lanes=%d;", p->digital_lanes);
    if (w < 0 || (size_t)w >= n - len) return -1;
    len += (size_t)w;
  }
  /* Options are sorted at parse time (job_sweep_parse), so their order here is canonical. */
  for (int i = 0; s && i < s->nopts; i++) {
    w = snprintf(buf + len, n - len, "opt.%s=%s;", s->opts[i].key, s->opts[i].value);
    if (w < 0 || (size_t)w >= n - len) return -1;
    len += (size_t)w;
  }
  return (int)len;
}

/* ---------------------------------------------------------------- parsing helpers */

typedef struct {
  const char *file;
  int line;
} ploc;

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

static int parse_long(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end) return -1;
  *out = v;
  return 0;
}

/* Capacity to grow to before appending element n: the arrays double when n reaches a power of
 * two (0: no growth needed), so appending a long range one value at a time stays linear even
 * where realloc always moves the block (ASan's allocator: 100000 seeds took 176 s). */
static size_t axis_grow_to(int n) {
  return n & (n - 1) ? 0 : n ? 2 * (size_t)n : 1;
}

static int axis_push(job_axis *ax, const char *v, long num, int line, int is_int) {
  size_t cap = axis_grow_to(ax->n);
  if (cap) {
    char **nv = realloc(ax->value, cap * sizeof *nv);
    if (!nv) return mon_fail("out of memory");
    ax->value = nv;
    int *nl = realloc(ax->line, cap * sizeof *nl);
    if (!nl) return mon_fail("out of memory");
    ax->line = nl;
    if (is_int) {
      long *nn = realloc(ax->num, cap * sizeof *nn);
      if (!nn) return mon_fail("out of memory");
      ax->num = nn;
    }
  }
  if (is_int) ax->num[ax->n] = num;
  ax->value[ax->n] = strdup(v);
  if (!ax->value[ax->n]) return mon_fail("out of memory");
  ax->line[ax->n] = line;
  ax->n++;
  return 0;
}

static void axis_free(job_axis *ax) {
  for (int i = 0; i < ax->n; i++) free(ax->value[i]);
  free(ax->value);
  free(ax->num);
  free(ax->line);
  memset(ax, 0, sizeof *ax);
}

static int is_name(const char *s, int allow_colon) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.' || *s == '/' ||
          *s == '+' || (allow_colon && *s == ':')))
      return 0;
  return 1;
}

/* Parses one list item of axis a into ax (integers may be ranges a..b or a..b:step). */
static int parse_item(ploc L, int a, const char *item, job_axis *ax) {
  const char *key = axis_def[a].key;
  if (!axis_def[a].is_int) {
    size_t cap = a == JOB_AX_MODELS     ? JOB_MODEL_LEN
                 : a == JOB_AX_HARDWARE ? JOB_PATH_LEN
                 : a == JOB_AX_MAPPINGS ? JOB_MAPPING_LEN
                                        : JOB_LABEL_LEN;
    if (strlen(item) >= cap)
      return mon_fail("%s:%d: key '%s': value '%s' is longer than %zu characters", L.file, L.line,
                      key, item, cap - 1);
    if (!is_name(item, a == JOB_AX_MODELS || a == JOB_AX_HARDWARE))
      return mon_fail("%s:%d: key '%s': '%s' is not a valid name (letters, digits, _ - . / +%s)",
                      L.file, L.line, key, item,
                      a == JOB_AX_MODELS || a == JOB_AX_HARDWARE ? " :" : "");
    return axis_push(ax, item, 0, L.line, 0);
  }
  long lo, hi, step = 1;
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s", item);
  char *dots = strstr(tmp, "..");
  if (!dots) {
    if (parse_long(tmp, &lo))
      return mon_fail("%s:%d: key '%s': '%s' is not an integer", L.file, L.line, key, item);
    hi = lo;
  } else {
    *dots = '\0';
    char *hs = dots + 2, *colon = strchr(hs, ':');
    if (colon) *colon++ = '\0';
    if (parse_long(tmp, &lo) || parse_long(hs, &hi) || (colon && parse_long(colon, &step)))
      return mon_fail("%s:%d: key '%s': '%s' is not an integer range (expected A..B or A..B:STEP)",
                      L.file, L.line, key, item);
    if (hi < lo || step < 1)
      return mon_fail("%s:%d: key '%s': empty range '%s' (need A <= B and STEP >= 1)", L.file,
                      L.line, key, item);
    /* the width in unsigned arithmetic: hi - lo overflows a long for wide ranges */
    if (((unsigned long)hi - (unsigned long)lo) / (unsigned long)step >= 100000)
      return mon_fail("%s:%d: key '%s': range '%s' has more than 100000 values", L.file, L.line,
                      key, item);
  }
  for (long v = lo; v <= hi; v += step) {
    if (v < axis_def[a].lo || v > axis_def[a].hi)
      return mon_fail("%s:%d: key '%s': %ld is out of range [%ld, %ld]", L.file, L.line, key, v,
                      axis_def[a].lo, axis_def[a].hi);
    char num[32];
    snprintf(num, sizeof num, "%ld", v);
    if (axis_push(ax, num, v, L.line, 1)) return -1;
    if (v > LONG_MAX - step) break;
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Parses a list (items separated by commas and/or whitespace) into ax; rejects duplicates. */
static int parse_list(ploc L, int a, char *val, job_axis *ax) {
  const char *key = axis_def[a].key;
  char *save = NULL;
  int n0 = ax->n;
  for (char *tok = strtok_r(val, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
    if (parse_item(L, a, tok, ax)) return -1;
  if (ax->n == n0) return mon_fail("%s:%d: key '%s': empty list", L.file, L.line, key);
  /* Duplicates: sort pointers to the values (a pairwise check is quadratic: 100000 seeds took
   * 13.5 s). Integers are normalized to decimal, so string equality is value equality. */
  const char **sorted = malloc((size_t)ax->n * sizeof *sorted);
  if (!sorted) return mon_fail("out of memory");
  for (int i = 0; i < ax->n; i++) sorted[i] = ax->value[i];
  qsort(sorted, (size_t)ax->n, sizeof *sorted, cmp_str);
  const char *dup = NULL;
  for (int i = 1; i < ax->n && !dup; i++)
    if (!strcmp(sorted[i], sorted[i - 1])) dup = sorted[i];
  free(sorted);
  if (dup) return mon_fail("%s:%d: key '%s': value '%s' is listed twice", L.file, L.line, key, dup);
  return 0;
}

static int parse_exclude(ploc L, char *val, job_sweep *s) {
  job_exclude *ne = realloc(s->excl, (size_t)(s->nexcl + 1) * sizeof *ne);
  if (!ne) return mon_fail("out of memory");
  s->excl = ne;
  job_exclude *e = &s->excl[s->nexcl++];
  memset(e, 0, sizeof *e);
  e->line = L.line;
  char *save = NULL;
  for (char *cond = strtok_r(val, " \t", &save); cond; cond = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(cond, '=');
    if (!eq)
      return mon_fail("%s:%d: key 'exclude': condition '%s' is not AXIS=VALUE[,VALUE...]", L.file,
                      L.line, cond);
    *eq = '\0';
    int a = axis_lookup(cond);
    if (a < 0)
      return mon_fail("%s:%d: key 'exclude': '%s' is not an axis (models, hardware, nblocks, "
                      "mappings, noise, dac_bits, adc_bits, digital_lanes, seeds)",
                      L.file, L.line, cond);
    for (int c = 0; c < e->ncond; c++)
      if (e->axis[c] == (job_axis_id)a)
        return mon_fail("%s:%d: key 'exclude': axis '%s' appears twice in one rule", L.file, L.line,
                        cond);
    if (e->ncond >= JOB_NAXES)
      return mon_fail("%s:%d: key 'exclude': too many conditions", L.file, L.line);
    e->axis[e->ncond] = (job_axis_id)a;
    char *v = eq + 1, *save2 = NULL;
    int any = 0;
    for (char *tok = strtok_r(v, ",", &save2); tok; tok = strtok_r(NULL, ",", &save2)) {
      if (parse_item(L, a, tok, &e->vals[e->ncond])) {
        e->ncond++;
        return mon_fail_ctx("exclude");
      }
      any = 1;
    }
    e->ncond++;
    if (!any)
      return mon_fail("%s:%d: key 'exclude': no values for axis '%s'", L.file, L.line, cond);
  }
  if (e->ncond == 0)
    return mon_fail("%s:%d: key 'exclude': expected AXIS=VALUE[,VALUE...] conditions", L.file,
                    L.line);
  return 0;
}

static int read_file(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return mon_fail("%s: cannot open sweep file: %s", path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return mon_fail("out of memory");
  }
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 >= cap) {
      if (cap > (64u << 20)) {
        free(buf);
        fclose(f);
        return mon_fail("%s: sweep file larger than 64 MiB", path);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return mon_fail("out of memory");
      }
      buf = nb, cap *= 2;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return mon_fail("%s: read error", path);
  }
  buf[n] = '\0';
  if (strlen(buf) != n) {
    free(buf);
    return mon_fail("%s: contains a NUL byte: not a text sweep file", path);
  }
  *out = buf;
  return 0;
}

/* ---------------------------------------------------------------- the parser */

static int parse_line(ploc L, char *line, job_sweep *s, int *seen_line) {
  char *eq = strchr(line, '=');
  if (!eq) {
    char *k = trim(line);
    return mon_fail("%s:%d: key '%s': expected 'key = value'", L.file, L.line, k);
  }
  *eq = '\0';
  char *key = trim(line), *val = trim(eq + 1);
  if (!*key)
    return mon_fail("%s:%d: expected 'key = value', found no key before '='", L.file, L.line);
  if (!*val) return mon_fail("%s:%d: key '%s': empty value", L.file, L.line, key);

  int a = axis_lookup(key);
  if (a >= 0) {
    if (seen_line[a])
      return mon_fail("%s:%d: key '%s': given twice (first at line %d)", L.file, L.line, key,
                      seen_line[a]);
    seen_line[a] = L.line;
    return parse_list(L, a, val, &s->axis[a]);
  }
  if (!strcmp(key, "name")) {
    if (!is_name(val, 0) || strlen(val) >= sizeof s->name)
      return mon_fail("%s:%d: key 'name': '%s' is not a valid name (letters, digits, _ - . / +, "
                      "at most %zu characters)",
                      L.file, L.line, val, sizeof s->name - 1);
    snprintf(s->name, sizeof s->name, "%s", val);
    return 0;
  }
  if (!strcmp(key, "executor")) {
    if (!is_name(val, 0) || strlen(val) >= sizeof s->executor)
      return mon_fail("%s:%d: key 'executor': '%s' is not a valid name", L.file, L.line, val);
    snprintf(s->executor, sizeof s->executor, "%s", val);
    return 0;
  }
  if (!strcmp(key, "exclude")) return parse_exclude(L, val, s);
  if (!strncmp(key, "noise.", 6)) {
    const char *label = key + 6;
    if (!is_name(label, 0) || strlen(label) >= JOB_LABEL_LEN)
      return mon_fail("%s:%d: key '%s': '%s' is not a valid noise label", L.file, L.line, key,
                      label);
    if (!strcmp(label, "none"))
      return mon_fail("%s:%d: key '%s': 'none' is built in (ideal devices) and cannot be redefined",
                      L.file, L.line, key);
    if (strlen(val) >= JOB_SPEC_LEN)
      return mon_fail("%s:%d: key '%s': spec longer than %d characters", L.file, L.line, key,
                      JOB_SPEC_LEN - 1);
    for (int i = 0; i < s->nnoise; i++)
      if (!strcmp(s->noise[i].label, label))
        return mon_fail("%s:%d: key '%s': given twice (first at line %d)", L.file, L.line, key,
                        s->noise[i].line);
    job_noise_preset *np = realloc(s->noise, (size_t)(s->nnoise + 1) * sizeof *np);
    if (!np) return mon_fail("out of memory");
    s->noise = np;
    job_noise_preset *p = &s->noise[s->nnoise++];
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->spec, sizeof p->spec, "%s", val);
    p->line = L.line;
    return 0;
  }
  if (!strncmp(key, "option.", 7)) {
    const char *name = key + 7;
    if (!is_name(name, 0) || strlen(name) >= JOB_KEY_LEN)
      return mon_fail("%s:%d: key '%s': '%s' is not a valid option name", L.file, L.line, key,
                      name);
    if (strlen(val) >= JOB_SPEC_LEN || strchr(val, ';'))
      return mon_fail("%s:%d: key '%s': value too long or contains ';'", L.file, L.line, key);
    for (int i = 0; i < s->nopts; i++)
      if (!strcmp(s->opts[i].key, name))
        return mon_fail("%s:%d: key '%s': given twice (first at line %d)", L.file, L.line, key,
                        s->opts[i].line);
    job_option *no = realloc(s->opts, (size_t)(s->nopts + 1) * sizeof *no);
    if (!no) return mon_fail("out of memory");
    s->opts = no;
    job_option *o = &s->opts[s->nopts++];
    snprintf(o->key, sizeof o->key, "%s", name);
    snprintf(o->value, sizeof o->value, "%s", val);
    o->line = L.line;
    return 0;
  }
  return mon_fail("%s:%d: key '%s': unknown key (expected name, executor, models, hardware, "
                  "nblocks, mappings, noise, dac_bits, adc_bits, seeds, exclude, noise.LABEL or "
                  "option.NAME)",
                  L.file, L.line, key);
}

static const job_noise_preset *noise_find(const job_sweep *s, const char *label) {
  for (int i = 0; i < s->nnoise; i++)
    if (!strcmp(s->noise[i].label, label)) return &s->noise[i];
  return NULL;
}

static int excluded(const job_sweep *s, const int *ix) {
  for (int r = 0; r < s->nexcl; r++) {
    const job_exclude *e = &s->excl[r];
    int all = 1;
    for (int c = 0; c < e->ncond && all; c++) {
      const char *v = s->axis[e->axis[c]].value[ix[e->axis[c]]];
      int any = 0;
      for (int k = 0; k < e->vals[c].n && !any; k++) any = !strcmp(v, e->vals[c].value[k]);
      all = any;
    }
    if (all) return 1;
  }
  return 0;
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int expand(job_sweep *s) {
  long long total = 1;
  for (int a = 0; a < JOB_NAXES; a++) {
    total *= s->axis[a].n;
    if (total > JOB_MAX_JOBS)
      return mon_fail("%s: the axes give more than %lld jobs", s->path, JOB_MAX_JOBS);
  }
  s->jobs = calloc((size_t)total, sizeof *s->jobs);
  if (!s->jobs) return mon_fail("out of memory for %lld jobs", total);
  int ix[JOB_NAXES] = {0};
  int64_t n = 0;
  char canon[1024 + JOB_SPEC_LEN * 2];
  for (long long t = 0; t < total; t++) {
    if (excluded(s, ix)) {
      s->nexcluded++;
    } else {
      job_params *p = &s->jobs[n];
      p->index = n;
      snprintf(p->model, sizeof p->model, "%s", s->axis[JOB_AX_MODELS].value[ix[JOB_AX_MODELS]]);
      snprintf(p->hardware, sizeof p->hardware, "%s",
               s->axis[JOB_AX_HARDWARE].value[ix[JOB_AX_HARDWARE]]);
      p->nblocks = (int)s->axis[JOB_AX_NBLOCKS].num[ix[JOB_AX_NBLOCKS]];
      snprintf(p->mapping, sizeof p->mapping, "%s",
               s->axis[JOB_AX_MAPPINGS].value[ix[JOB_AX_MAPPINGS]]);
      const char *label = s->axis[JOB_AX_NOISE].value[ix[JOB_AX_NOISE]];
      snprintf(p->noise, sizeof p->noise, "%s", label);
      const job_noise_preset *np = noise_find(s, label);
      snprintf(p->noise_spec, sizeof p->noise_spec, "%s", np ? np->spec : "");
      p->dac_bits = (int)s->axis[JOB_AX_DAC_BITS].num[ix[JOB_AX_DAC_BITS]];
      p->adc_bits = (int)s->axis[JOB_AX_ADC_BITS].num[ix[JOB_AX_ADC_BITS]];
      p->digital_lanes = (int)s->axis[JOB_AX_DIGITAL_LANES].num[ix[JOB_AX_DIGITAL_LANES]];
      p->seed = s->axis[JOB_AX_SEEDS].num[ix[JOB_AX_SEEDS]];
      int len = job_canonical(p, s, canon, sizeof canon);
      if (len < 0)
        return mon_fail("%s: job %lld: parameter string too long", s->path, (long long)n);
      p->id = job_hash64(canon, (size_t)len);
      n++;
    }
    /* Mixed-radix increment, innermost axis (seeds) fastest. */
    for (int a = JOB_NAXES - 1; a >= 0; a--) {
      if (++ix[a] < s->axis[a].n) break;
      ix[a] = 0;
    }
  }
  s->njobs = n;
  if (n == 0) return mon_fail("%s: the exclude rules remove all %lld jobs", s->path, total);
  /* Distinct parameters give distinct ids unless the 64-bit hash collides: check, since
   * resume and merge identify jobs by id. */
  uint64_t *ids = malloc((size_t)n * sizeof *ids);
  if (!ids) return mon_fail("out of memory");
  for (int64_t i = 0; i < n; i++) ids[i] = s->jobs[i].id;
  qsort(ids, (size_t)n, sizeof *ids, u64_cmp);
  for (int64_t i = 1; i < n; i++)
    if (ids[i] == ids[i - 1]) {
      unsigned long long dup = (unsigned long long)ids[i]; /* read before the free */
      free(ids);
      return mon_fail("%s: two jobs have the same 64-bit id %016llx", s->path, dup);
    }
  free(ids);
  return 0;
}

int job_sweep_parse(job_sweep *s, const char *path, const char *text) {
  memset(s, 0, sizeof *s);
  snprintf(s->executor, sizeof s->executor, "real");
  s->path = strdup(path ? path : "<sweep>");
  if (!s->path) return mon_fail("out of memory");
  if (text) {
    s->text = strdup(text);
    if (!s->text) return mon_fail("out of memory");
  } else if (read_file(path, &s->text))
    return -1;
  /* Directory of the sweep file: hardware files are looked up relative to it. */
  s->dir = strdup(s->path);
  if (!s->dir) return mon_fail("out of memory");
  char *slash = strrchr(s->dir, '/');
  if (slash)
    slash[slash == s->dir ? 1 : 0] = '\0';
  else
    snprintf(s->dir, strlen(s->dir) + 1, ".");
  /* Default name: base name without the .sweep suffix. */
  const char *base = strrchr(s->path, '/');
  base = base ? base + 1 : s->path;
  snprintf(s->name, sizeof s->name, "%s", base);
  char *dot = strstr(s->name, ".sweep");
  if (dot && dot[6] == '\0') *dot = '\0';

  char *buf = strdup(s->text);
  if (!buf) return mon_fail("out of memory");
  int seen_line[JOB_NAXES] = {0};
  int lineno = 0, rc = 0;
  char *p = buf;
  /* Logical lines: a trailing backslash continues a line; '#' starts a comment. */
  char *logical = NULL;
  size_t lcap = 0, llen = 0;
  int lstart = 0;
  while (*p && rc == 0) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    lineno++;
    char *hash = strchr(p, '#');
    if (hash) *hash = '\0';
    size_t n = strlen(p);
    if (n > 0 && p[n - 1] == '\r') p[--n] = '\0';
    int cont = 0;
    char *t = p + n;
    while (t > p && isspace((unsigned char)t[-1])) t--;
    if (t > p && t[-1] == '\\') {
      t[-1] = ' ';
      cont = 1;
    }
    if (!logical || llen == 0) lstart = lineno;
    if (llen + n + 2 > lcap) {
      lcap = (llen + n + 2) * 2;
      char *nb = realloc(logical, lcap);
      if (!nb) {
        rc = mon_fail("out of memory");
        break;
      }
      logical = nb;
    }
    memcpy(logical + llen, p, n);
    llen += n;
    logical[llen] = '\0';
    if (!cont) {
      char *line = trim(logical);
      if (*line) rc = parse_line((ploc){s->path, lstart}, line, s, seen_line);
      llen = 0;
    } else {
      logical[llen++] = ' ';
      logical[llen] = '\0';
    }
    p = nl ? nl + 1 : p + strlen(p);
  }
  if (rc == 0 && llen > 0) {
    char *line = trim(logical);
    if (*line) rc = parse_line((ploc){s->path, lstart}, line, s, seen_line);
  }
  free(logical);
  free(buf);
  if (rc) return -1;

  if (!s->axis[JOB_AX_MODELS].n)
    return mon_fail("%s: key 'models': missing (a sweep needs at least one model)", s->path);
  const job_axis *dl = &s->axis[JOB_AX_DIGITAL_LANES];
  for (int i = 0; i < s->nopts; i++)
    if (dl->n && !strcmp(s->opts[i].key, "digital_lanes"))
      return mon_fail("%s:%d: key 'option.digital_lanes': the axis digital_lanes (line %d) sets it "
                      "per job; give one of the two",
                      s->path, s->opts[i].line, dl->line[0]);
  for (int a = 0; a < JOB_NAXES; a++)
    if (!s->axis[a].n) {
      char d[64];
      snprintf(d, sizeof d, "%s", axis_def[a].dflt);
      if (parse_list((ploc){s->path, 0}, a, d, &s->axis[a])) return -1;
    }
  /* Every noise label must be defined; exclusion values must be on their axis (typos). */
  const job_axis *nz = &s->axis[JOB_AX_NOISE];
  for (int i = 0; i < nz->n; i++)
    if (strcmp(nz->value[i], "none") && !noise_find(s, nz->value[i]))
      return mon_fail("%s:%d: key 'noise': label '%s' is not defined (add 'noise.%s = SPEC' or "
                      "use 'none')",
                      s->path, nz->line[i], nz->value[i], nz->value[i]);
  for (int r = 0; r < s->nexcl; r++) {
    const job_exclude *e = &s->excl[r];
    for (int c = 0; c < e->ncond; c++) {
      const job_axis *ax = &s->axis[e->axis[c]];
      for (int k = 0; k < e->vals[c].n; k++) {
        int found = 0;
        for (int i = 0; i < ax->n && !found; i++)
          found = !strcmp(ax->value[i], e->vals[c].value[k]);
        if (!found)
          return mon_fail("%s:%d: key 'exclude': %s=%s is not a value of axis '%s'", s->path,
                          e->line, job_axis_name(e->axis[c]), e->vals[c].value[k],
                          job_axis_name(e->axis[c]));
      }
    }
  }
  if (s->nopts > 1) /* qsort(NULL, 0, ...) is undefined behaviour (UBSan) */
    qsort(s->opts, (size_t)s->nopts, sizeof *s->opts, opt_cmp);
  return expand(s);
}

void job_sweep_destroy(job_sweep *s) {
  if (!s) return;
  free(s->path);
  free(s->dir);
  free(s->text);
  for (int a = 0; a < JOB_NAXES; a++) axis_free(&s->axis[a]);
  for (int r = 0; r < s->nexcl; r++)
    for (int c = 0; c < s->excl[r].ncond; c++) axis_free(&s->excl[r].vals[c]);
  free(s->excl);
  free(s->opts);
  free(s->noise);
  free(s->jobs);
  memset(s, 0, sizeof *s);
}

const char *job_sweep_option(const job_sweep *s, const char *key) {
  for (int i = 0; i < s->nopts; i++)
    if (!strcmp(s->opts[i].key, key)) return s->opts[i].value;
  return NULL;
}

uint64_t job_sweep_list_hash(const job_sweep *s) {
  uint64_t h = mon_hash64((uint64_t)s->njobs);
  for (int64_t i = 0; i < s->njobs; i++) h = mon_hash64(h ^ s->jobs[i].id);
  return h;
}

int job_part_parse(const char *str, int *part, int *nparts) {
  long i, n;
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%s", str);
  char *slash = strchr(tmp, '/');
  if (!slash) return mon_fail("--part '%s': expected I/N (e.g. 0/4)", str);
  *slash = '\0';
  if (parse_long(tmp, &i) || parse_long(slash + 1, &n) || n < 1 || n > 1000000 || i < 0 || i >= n)
    return mon_fail("--part '%s': expected I/N with 0 <= I < N", str);
  *part = (int)i;
  *nparts = (int)n;
  return 0;
}

int job_hardware_path(const job_sweep *s, const char *hw, char *out, size_t n) {
  if (!strcmp(hw, "default") || hw[0] == '/') {
    if ((size_t)snprintf(out, n, "%s", hw) >= n) return mon_fail("hardware path too long");
    return 0;
  }
  /* Relative paths: the sweep file's directory first, then the current directory. */
  if ((size_t)snprintf(out, n, "%s/%s", s->dir, hw) >= n) return mon_fail("hardware path too long");
  FILE *f = fopen(out, "r");
  if (f) {
    fclose(f);
    return 0;
  }
  if ((size_t)snprintf(out, n, "%s", hw) >= n) return mon_fail("hardware path too long");
  return 0;
}

int job_sweep_check(const job_sweep *s, const job_executor *ex) {
  if (!ex->check) return 0;
  for (int a = 0; a < JOB_NAXES; a++) {
    const job_axis *ax = &s->axis[a];
    for (int i = 0; i < ax->n; i++) {
      const char *v = ax->value[i];
      char path[JOB_PATH_LEN * 2];
      if (a == JOB_AX_NOISE) {
        const job_noise_preset *np = noise_find(s, v);
        v = np ? np->spec : ""; /* the spec a job carries (job_params.noise_spec) */
      } else if (a == JOB_AX_HARDWARE) {
        if (job_hardware_path(s, v, path, sizeof path)) return -1;
        v = path;
      }
      if (ex->check(axis_def[a].key, v))
        return mon_fail_ctx("%s:%d: key '%s': executor '%s' rejects '%s'", s->path, ax->line[i],
                            axis_def[a].key, ex->name, ax->value[i]);
    }
  }
  for (int i = 0; i < s->nopts; i++) {
    char key[JOB_KEY_LEN + 8];
    snprintf(key, sizeof key, "option.%s", s->opts[i].key);
    if (ex->check(key, s->opts[i].value))
      return mon_fail_ctx("%s:%d: key '%s': executor '%s' rejects '%s'", s->path, s->opts[i].line,
                          key, ex->name, s->opts[i].value);
  }
  return 0;
}

const job_executor *job_executor_find(const job_executor *const *table, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (table[i] && !strcmp(table[i]->name, name)) return table[i];
  return NULL;
}

void job_metrics_nan(job_metrics *m) {
  memset(m, 0, sizeof *m);
  job_metrics *mon_metric_p = m;
  MON_JOB_METRICS(MON_METRIC_UNSET)
}

void job_layer_nan(job_layer *l) {
  memset(l, 0, sizeof *l);
  job_layer *mon_metric_p = l;
  MON_LAYER_METRICS(MON_METRIC_UNSET)
}
