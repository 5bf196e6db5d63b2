/* The one option parser of every command (bench.h: bench_options). Tables instead of getopt
 * loops, so that --help, an unknown option, a missing or malformed value and a stray operand get
 * the same message and exit status in every command. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* Finds the entry for "--name" (name of length n) or "-c" (n = 0, short c), descending into
 * sub-tables. */
static const bench_opt *find(const bench_opt *t, const char *name, size_t n, char c) {
  for (; t->name; t++) {
    if (t->kind == BENCH_OPT_TABLE) {
      const bench_opt *s = find(t->dst, name, n, c);
      if (s) return s;
    } else if (n ? strlen(t->name) == n && !strncmp(t->name, name, n) : c && t->short_name == c) {
      return t;
    }
  }
  return NULL;
}

/* Splits a choice list "a|b|c" and returns the index of v, or -1. */
static int choice_index(const char *choices, const char *v) {
  size_t lv = strlen(v);
  int i = 0;
  for (const char *p = choices; *p; i++) {
    const char *e = strchr(p, '|');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == lv && !strncmp(p, v, l)) return i;
    if (!e) break;
    p = e + 1;
  }
  return -1;
}

/* Stores the value of one option; BENCH_USAGE after printing why it is not acceptable. */
static int store(const char *cmd, const bench_opt *o, const char *arg) {
  switch (o->kind) {
  case BENCH_OPT_FLAG:
    *(int *)o->dst = 1;
    return 0;
  case BENCH_OPT_STR:
    *(const char **)o->dst = arg;
    return 0;
  case BENCH_OPT_INT:
    return bench_parse_int(cmd, o->name, arg, (long)o->lo, (long)o->hi, o->dst) ? BENCH_USAGE : 0;
  case BENCH_OPT_DOUBLE:
    return bench_parse_double(cmd, o->name, arg, o->lo, o->hi, o->dst) ? BENCH_USAGE : 0;
  case BENCH_OPT_CHOICE: {
    int i = choice_index(o->choices, arg);
    if (i < 0)
      return bench_usage_error(cmd, "--%s '%s': expected one of %s", o->name, arg, o->choices);
    *(int *)o->dst = i;
    return 0;
  }
  case BENCH_OPT_FN:
    return o->fn(cmd, arg, o->dst) ? BENCH_USAGE : 0;
  case BENCH_OPT_TABLE:
    break;
  }
  return bench_usage_error(cmd, "--%s: unsupported option kind", o->name);
}

int bench_options(const char *cmd, int argc, char **argv, const bench_opt *opts,
                  void (*usage)(FILE *), int *noperands) {
  int nops = 0, only_operands = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (only_operands || a[0] != '-' || !a[1]) {
      if (!noperands) return bench_usage_error(cmd, "unexpected argument '%s'", a);
      /* operands rotate to the front in order; argv stays a permutation of itself */
      memmove(argv + 2 + nops, argv + 1 + nops, (size_t)(i - 1 - nops) * sizeof *argv);
      argv[1 + nops++] = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_operands = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      if (!bench_quiet) usage(stdout);
      return BENCH_OK;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1), *eq = NULL;
    const bench_opt *o;
    if (a[1] == '-') {
      eq = strchr(name, '=');
      o = find(opts, name, eq ? (size_t)(eq - name) : strlen(name), 0);
    } else {
      o = name[1] ? NULL : find(opts, NULL, 0, name[0]);
    }
    if (!o) return bench_usage_error(cmd, "unknown option '%s'", a);
    const char *arg = NULL;
    if (o->kind == BENCH_OPT_FLAG) {
      if (eq) return bench_usage_error(cmd, "option '--%s' takes no value", o->name);
    } else if (eq) {
      arg = eq + 1;
    } else if (i + 1 < argc) {
      arg = argv[++i];
    } else {
      return bench_usage_error(cmd, "option '%s' needs a value", a);
    }
    int rc = store(cmd, o, arg);
    if (rc) return rc;
  }
  if (noperands) *noperands = nops;
  return BENCH_CONTINUE;
}
