/* safetensors checkpoints: a read-only memory-mapped reader that validates every byte it will
 * ever touch, and an atomic F32 writer.
 *
 * Format (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N, N
 * bytes of JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 * ..., "__metadata__": {"key": "value"}}, then the data area; offsets are relative to the data
 * area's start (byte 8 + N). Everything in the header is untrusted input: the reader never
 * reads outside the mapping, whatever the file says. */
#define _DEFAULT_SOURCE /* madvise */
#include "base.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader maps it without byte swapping"
#endif

/* The reference implementation (safetensors, Rust) refuses headers above 100 MB: a real
 * header holds a few hundred bytes per tensor, so anything larger is corrupt or hostile. */
#define ST_MAX_HEADER ((uint64_t)100000000)
/* Numbers in the header are JSON doubles (cJSON): integers are exact up to 2^53. */
#define ST_MAX_INT ((double)9007199254740992.0)

static const struct {
  const char *name;
  size_t size;
} dtypes[MON_NDTYPES] = {
    [MON_F32] = {"F32", 4},   [MON_F16] = {"F16", 2},         [MON_BF16] = {"BF16", 2},
    [MON_F64] = {"F64", 8},   [MON_I64] = {"I64", 8},         [MON_I32] = {"I32", 4},
    [MON_I16] = {"I16", 2},   [MON_I8] = {"I8", 1},           [MON_U64] = {"U64", 8},
    [MON_U32] = {"U32", 4},   [MON_U16] = {"U16", 2},         [MON_U8] = {"U8", 1},
    [MON_BOOL] = {"BOOL", 1}, [MON_F8_E4M3] = {"F8_E4M3", 1}, [MON_F8_E5M2] = {"F8_E5M2", 1},
};

const char *mon_dtype_name(mon_dtype t) {
  return (t >= 0 && t < MON_NDTYPES) ? dtypes[t].name : "(invalid dtype)";
}
size_t mon_dtype_size(mon_dtype t) {
  return (t >= 0 && t < MON_NDTYPES) ? dtypes[t].size : 0;
}

/* ---------------------------------------------------------------- half precision */

float mon_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) { /* inf, or nan with its payload kept in the top mantissa bits */
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) { /* normal: rebias 15 -> 127 */
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) { /* signed zero */
    bits = sign;
  } else { /* subnormal: mant * 2^-24; normalize so the leading 1 becomes implicit */
    int e = -14;
    while (!(mant & 0x400)) mant <<= 1, e--;
    bits = sign | ((uint32_t)(e + 127) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* bfloat16 is the top half of a float32: every value, subnormals and nan included, maps. */
float mon_bf16_to_f32(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* ---------------------------------------------------------------- reader */

static void st_reset(mon_safetensors *st) {
  free(st->tensors);
  free(st->metadata_json);
  for (int i = 0; i < st->nmeta; i++) {
    if (st->meta_keys) free(st->meta_keys[i]);
    if (st->meta_values) free(st->meta_values[i]);
  }
  free(st->meta_keys);
  free(st->meta_values);
  if (st->map) munmap(st->map, st->map_len);
  st->map = NULL;
  st->map_len = 0;
  st->tensors = NULL;
  st->ntensors = 0;
  st->metadata_json = NULL;
  st->nmeta = 0;
  st->meta_keys = st->meta_values = NULL;
}

void mon_st_close(mon_safetensors *st) {
  if (st) st_reset(st);
}

/* A JSON number that is a non-negative integer <= 2^53. what names the field for errors. */
static int get_count(const char *path, const char *tname, const char *what, const cJSON *v,
                     uint64_t *out) {
  if (!cJSON_IsNumber(v))
    return mon_fail("%s: tensor '%s': %s: expected a non-negative integer", path, tname, what);
  double d = v->valuedouble;
  if (!isfinite(d) || d != floor(d))
    return mon_fail("%s: tensor '%s': %s = %g: expected a non-negative integer", path, tname, what,
                    d);
  if (d < 0)
    return mon_fail("%s: tensor '%s': %s = %.0f is negative: expected a non-negative integer", path,
                    tname, what, d);
  if (d > ST_MAX_INT)
    return mon_fail("%s: tensor '%s': %s = %g is absurdly large (expected <= 2^53)", path, tname,
                    what, d);
  *out = (uint64_t)d;
  return 0;
}

/* Entry state while validating, kept beside the public tensor. */
typedef struct {
  uint64_t begin, end;
} span;

static int parse_tensor(const char *path, const cJSON *e, size_t data_len, mon_tensor *t,
                        span *sp) {
  const char *name = e->string;
  if (strlen(name) >= MON_NAME_MAX)
    return mon_fail("%s: tensor name '%.40s...' is %zu bytes long, expected < %d", path, name,
                    strlen(name), MON_NAME_MAX);
  if (name[0] == '\0') return mon_fail("%s: a tensor has an empty name", path);
  memset(t, 0, sizeof *t);
  strcpy(t->name, name);
  if (!cJSON_IsObject(e))
    return mon_fail("%s: tensor '%s': expected an object with dtype, shape and data_offsets", path,
                    name);

  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  if (!dt) return mon_fail("%s: tensor '%s': missing field 'dtype'", path, name);
  if (!cJSON_IsString(dt))
    return mon_fail("%s: tensor '%s': field 'dtype' must be a string such as \"F32\"", path, name);
  int found = -1;
  for (int i = 0; i < MON_NDTYPES; i++)
    if (!strcmp(dt->valuestring, dtypes[i].name)) found = i;
  if (found < 0)
    return mon_fail("%s: tensor '%s': unknown dtype '%.32s' (expected one of F32, F16, BF16, F64, "
                    "I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2)",
                    path, name, dt->valuestring);
  t->dtype = (mon_dtype)found;

  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  if (!sh) return mon_fail("%s: tensor '%s': missing field 'shape'", path, name);
  if (!cJSON_IsArray(sh))
    return mon_fail("%s: tensor '%s': field 'shape' must be an array of integers", path, name);
  int nd = cJSON_GetArraySize(sh);
  if (nd > MON_MAX_DIMS)
    return mon_fail("%s: tensor '%s': shape has %d dimensions, at most %d supported", path, name,
                    nd, MON_MAX_DIMS);
  uint64_t numel = 1;
  int overflow = 0;
  const cJSON *dim;
  int d = 0;
  cJSON_ArrayForEach(dim, sh) {
    char what[32];
    snprintf(what, sizeof what, "shape[%d]", d);
    uint64_t v;
    if (get_count(path, name, what, dim, &v)) return -1;
    t->shape[d++] = (int64_t)v;
    overflow |= __builtin_mul_overflow(numel, v, &numel);
  }
  t->ndim = nd;
  uint64_t nbytes;
  overflow |= __builtin_mul_overflow(numel, (uint64_t)dtypes[t->dtype].size, &nbytes);
  if (overflow || numel > (uint64_t)INT64_MAX)
    return mon_fail("%s: tensor '%s': shape product overflows 64 bits", path, name);
  t->numel = (int64_t)numel;

  const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!of) return mon_fail("%s: tensor '%s': missing field 'data_offsets'", path, name);
  if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
    return mon_fail("%s: tensor '%s': field 'data_offsets' must be an array [begin, end]", path,
                    name);
  uint64_t b, en;
  if (get_count(path, name, "data_offsets[0]", cJSON_GetArrayItem(of, 0), &b) ||
      get_count(path, name, "data_offsets[1]", cJSON_GetArrayItem(of, 1), &en))
    return -1;
  if (b > en)
    return mon_fail("%s: tensor '%s': data_offsets [%llu, %llu]: begin is after end", path, name,
                    (unsigned long long)b, (unsigned long long)en);
  if (en > data_len)
    return mon_fail("%s: tensor '%s': data_offsets [%llu, %llu] run past the end of the data area "
                    "(%zu bytes; file truncated?)",
                    path, name, (unsigned long long)b, (unsigned long long)en, data_len);
  if (en - b != nbytes)
    return mon_fail("%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but dtype %s and "
                    "shape of %llu elements need %llu bytes",
                    path, name, (unsigned long long)b, (unsigned long long)en,
                    (unsigned long long)(en - b), dtypes[t->dtype].name, (unsigned long long)numel,
                    (unsigned long long)nbytes);
  sp->begin = b;
  sp->end = en;
  t->nbytes = (size_t)nbytes;
  return 0;
}

static int parse_metadata(const char *path, const cJSON *e, mon_safetensors *st) {
  if (!cJSON_IsObject(e))
    return mon_fail("%s: \"__metadata__\" must be an object mapping strings to strings", path);
  int n = cJSON_GetArraySize(e);
  st->meta_keys = calloc((size_t)n + 1, sizeof(char *));
  st->meta_values = calloc((size_t)n + 1, sizeof(char *));
  if (!st->meta_keys || !st->meta_values) return mon_fail("%s: out of memory", path);
  const cJSON *kv;
  cJSON_ArrayForEach(kv, e) {
    if (!cJSON_IsString(kv))
      return mon_fail("%s: \"__metadata__\" entry '%.200s': expected a string value", path,
                      kv->string);
    for (int i = 0; i < st->nmeta; i++)
      if (!strcmp(st->meta_keys[i], kv->string))
        return mon_fail("%s: \"__metadata__\" has the key '%.200s' twice", path, kv->string);
    st->meta_keys[st->nmeta] = strdup(kv->string);
    st->meta_values[st->nmeta] = strdup(kv->valuestring);
    st->nmeta++;
    if (!st->meta_keys[st->nmeta - 1] || !st->meta_values[st->nmeta - 1])
      return mon_fail("%s: out of memory", path);
  }
  st->metadata_json = cJSON_PrintUnformatted(e);
  if (!st->metadata_json) return mon_fail("%s: out of memory", path);
  return 0;
}

typedef struct {
  mon_tensor t;
  span sp;
} entry;

static int by_name(const void *a, const void *b) {
  return strcmp(((const entry *)a)->t.name, ((const entry *)b)->t.name);
}
static int by_offset(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->sp.begin != y->sp.begin) return x->sp.begin < y->sp.begin ? -1 : 1;
  if (x->sp.end != y->sp.end) return x->sp.end < y->sp.end ? -1 : 1;
  return strcmp(x->t.name, y->t.name);
}

/* Parses and validates the header of the mapped file into st. */
static int parse_header(mon_safetensors *st, const char *path) {
  const unsigned char *base = st->map;
  size_t size = st->map_len;
  if (size < 8)
    return mon_fail("%s: file is %zu bytes, too short for the 8-byte header length (empty or "
                    "truncated file?)",
                    path, size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | base[i];
  if (n == 0) return mon_fail("%s: header length is 0, expected a JSON header", path);
  if (n > ST_MAX_HEADER)
    return mon_fail("%s: header length %llu is absurd (limit %llu bytes): not a safetensors file?",
                    path, (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
  if (n > size - 8)
    return mon_fail("%s: header length %llu runs past the end of the %zu-byte file (truncated?)",
                    path, (unsigned long long)n, size);
  st->header_len = (size_t)n;
  const char *hdr = (const char *)base + 8;
  size_t data_len = size - 8 - (size_t)n;
  if (hdr[0] != '{')
    return mon_fail("%s: header does not start with '{': expected a JSON object", path);

  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
  if (!root) {
    size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0;
    return mon_fail("%s: header is not valid JSON (error near header byte %zu of %llu)", path, at,
                    (unsigned long long)n);
  }
  int rc = -1;
  entry *ents = NULL;
  for (const char *c = end; c < hdr + n; c++)
    if (!(*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\0')) {
      mon_fail("%s: unexpected bytes after the JSON header object (header byte %zu)", path,
               (size_t)(c - hdr));
      goto done;
    }
  if (!cJSON_IsObject(root)) {
    mon_fail("%s: header is not a JSON object", path);
    goto done;
  }
  int nent = cJSON_GetArraySize(root), nt = 0, nmeta_objs = 0;
  ents = calloc((size_t)nent + 1, sizeof *ents);
  if (!ents) {
    mon_fail("%s: out of memory for %d header entries", path, nent);
    goto done;
  }
  const cJSON *e;
  cJSON_ArrayForEach(e, root) {
    if (!strcmp(e->string, "__metadata__")) {
      if (nmeta_objs++) {
        mon_fail("%s: header has \"__metadata__\" twice", path);
        goto done;
      }
      if (parse_metadata(path, e, st)) goto done;
      continue;
    }
    if (parse_tensor(path, e, data_len, &ents[nt].t, &ents[nt].sp)) goto done;
    nt++;
  }
  qsort(ents, (size_t)nt, sizeof *ents, by_name);
  for (int i = 1; i < nt; i++)
    if (!strcmp(ents[i].t.name, ents[i - 1].t.name)) {
      mon_fail("%s: duplicate tensor name '%s' in the header", path, ents[i].t.name);
      goto done;
    }
  qsort(ents, (size_t)nt, sizeof *ents, by_offset);
  /* Sorted by begin, two non-empty ranges overlap iff one starts before the furthest end
   * seen so far. Empty tensors occupy no bytes and overlap nothing. */
  int last = -1;
  for (int i = 0; i < nt; i++) {
    if (ents[i].sp.begin == ents[i].sp.end) continue;
    if (last >= 0 && ents[i].sp.begin < ents[last].sp.end) {
      mon_fail("%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap in the data area", path,
               ents[last].t.name, (unsigned long long)ents[last].sp.begin,
               (unsigned long long)ents[last].sp.end, ents[i].t.name,
               (unsigned long long)ents[i].sp.begin, (unsigned long long)ents[i].sp.end);
      goto done;
    }
    if (last < 0 || ents[i].sp.end > ents[last].sp.end) last = i;
  }
  st->tensors = calloc((size_t)nt + 1, sizeof *st->tensors);
  if (!st->tensors) {
    mon_fail("%s: out of memory", path);
    goto done;
  }
  const unsigned char *data = base + 8 + n;
  for (int i = 0; i < nt; i++) {
    st->tensors[i] = ents[i].t;
    st->tensors[i].data = data + ents[i].sp.begin;
  }
  st->ntensors = nt;
  rc = 0;
done:
  free(ents);
  cJSON_Delete(root);
  return rc;
}

int mon_st_open(mon_safetensors *st, const char *path) {
  memset(st, 0, sizeof *st);
  if (strlen(path) >= sizeof st->path)
    return mon_fail("%.100s...: path longer than %zu bytes", path, sizeof st->path);
  strcpy(st->path, path);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return mon_fail("%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb)) {
    int e = errno;
    close(fd);
    return mon_fail("%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return mon_fail("%s: not a regular file", path);
  }
  size_t size = (size_t)sb.st_size;
  if (size < 8) { /* also avoids mmap of 0 bytes, which fails */
    close(fd);
    return mon_fail("%s: file is %zu bytes, too short for the 8-byte header length (empty or "
                    "truncated file?)",
                    path, size);
  }
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd); /* the mapping stays valid */
  if (map == MAP_FAILED) return mon_fail("%s: cannot mmap %zu bytes: %s", path, size, strerror(e));
  st->map = map;
  st->map_len = size;
  if (parse_header(st, path)) {
    st_reset(st);
    return -1;
  }
  return 0;
}

const mon_tensor *mon_st_find(const mon_safetensors *st, const char *name) {
  for (int i = 0; i < st->ntensors; i++)
    if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
  char list[512] = "";
  size_t used = 0;
  for (int i = 0; i < st->ntensors && used + 1 < sizeof list; i++) {
    int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", st->tensors[i].name);
    if (w < 0) break;
    used += (size_t)w;
  }
  if (used >= sizeof list) strcpy(list + sizeof list - 5, "...");
  mon_fail("%s: no tensor named '%s' (the file has %d: %s)", st->path, name, st->ntensors,
           st->ntensors ? list : "none");
  return NULL;
}

const char *mon_st_meta_get(const mon_safetensors *st, const char *key) {
  for (int i = 0; i < st->nmeta; i++)
    if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
  return NULL;
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
  size_t u = (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < ndim && u < len; i++)
    u += (size_t)snprintf(buf + u, len - u, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (u < len) snprintf(buf + u, len - u, ")");
}

static int check_f32_tensor(const mon_safetensors *st, const char *name, int expect_ndim,
                            const int64_t *expect_shape, const mon_tensor **tp) {
  const mon_tensor *t = mon_st_find(st, name);
  if (!t) return -1;
  if (expect_ndim > 0) {
    int ok = t->ndim == expect_ndim;
    for (int i = 0; ok && i < expect_ndim; i++)
      ok = expect_shape[i] < 0 || expect_shape[i] == t->shape[i];
    if (!ok) {
      char got[160], want[160];
      shape_str(got, sizeof got, t->ndim, t->shape);
      shape_str(want, sizeof want, expect_ndim, expect_shape);
      return mon_fail("%s: tensor '%s' has shape %s, expected %s (-1 = any)", st->path, name, got,
                      want);
    }
  }
  if (t->dtype != MON_F32 && t->dtype != MON_F16 && t->dtype != MON_BF16)
    return mon_fail("%s: tensor '%s' has dtype %s: only F32, F16 and BF16 convert to float32",
                    st->path, name, mon_dtype_name(t->dtype));
  *tp = t;
  return 0;
}

static void convert_f32(const mon_tensor *t, float *f) {
  size_t n = (size_t)t->numel;
  /* memcpy per element: the data area carries no alignment guarantee. */
  const unsigned char *src = t->data;
  if (t->dtype == MON_F32) {
    if (n) memcpy(f, src, n * sizeof(float));
  } else {
    float (*conv)(uint16_t) = t->dtype == MON_F16 ? mon_f16_to_f32 : mon_bf16_to_f32;
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      f[i] = conv(h);
    }
  }
}

int mon_st_read_f32(const mon_safetensors *st, const char *name, int expect_ndim,
                    const int64_t *expect_shape, float **out) {
  *out = NULL;
  const mon_tensor *t;
  if (check_f32_tensor(st, name, expect_ndim, expect_shape, &t)) return -1;
  size_t n = (size_t)t->numel;
  float *f = malloc(n ? n * sizeof(float) : 1);
  if (!f) return mon_fail("%s: tensor '%s': out of memory for %zu floats", st->path, name, n);
  convert_f32(t, f);
  *out = f;
  return 0;
}

int mon_st_read_f32_into(const mon_safetensors *st, const char *name, int expect_ndim,
                         const int64_t *expect_shape, float *dst) {
  const mon_tensor *t;
  if (check_f32_tensor(st, name, expect_ndim, expect_shape, &t)) return -1;
  convert_f32(t, dst);
  return 0;
}

void mon_st_release(const mon_safetensors *st, const mon_tensor *t) {
  /* Whole pages inside the tensor's bytes only: neighbours may still be read. The mapping is
   * read-only and file-backed, so dropping pages loses nothing (a later read faults them in). */
  const long pg = sysconf(_SC_PAGESIZE);
  if (!st->map || pg <= 0 || !t->nbytes) return;
  uintptr_t a = (uintptr_t)t->data, e = a + t->nbytes;
  a = (a + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
  e &= ~((uintptr_t)pg - 1);
  if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
}

/* ---------------------------------------------------------------- writer */

typedef struct {
  char *name;
  int ndim;
  int64_t shape[MON_MAX_DIMS];
  const float *data; /* borrowed */
  size_t nbytes;
} wentry;

struct mon_st_writer {
  int n, cap;
  wentry *t;
  int nmeta, metacap;
  char **keys, **values;
};

mon_st_writer *mon_st_writer_create(void) {
  mon_st_writer *w = calloc(1, sizeof *w);
  if (!w) mon_fail("safetensors writer: out of memory");
  return w;
}

void mon_st_writer_destroy(mon_st_writer *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) free(w->t[i].name);
  for (int i = 0; i < w->nmeta; i++) free(w->keys[i]), free(w->values[i]);
  free(w->t), free(w->keys), free(w->values);
  free(w);
}

int mon_st_writer_add(mon_st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data) {
  if (!name || !*name || strlen(name) >= MON_NAME_MAX)
    return mon_fail("safetensors writer: tensor name must have 1..%d bytes", MON_NAME_MAX - 1);
  if (!strcmp(name, "__metadata__"))
    return mon_fail("safetensors writer: '__metadata__' is reserved, not a tensor name");
  for (int i = 0; i < w->n; i++)
    if (!strcmp(w->t[i].name, name))
      return mon_fail("safetensors writer: tensor '%s' added twice", name);
  if (ndim < 0 || ndim > MON_MAX_DIMS)
    return mon_fail("safetensors writer: tensor '%s': %d dimensions, expected 0..%d", name, ndim,
                    MON_MAX_DIMS);
  uint64_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return mon_fail("safetensors writer: tensor '%s': shape[%d] = %lld is negative", name, i,
                      (long long)shape[i]);
    if (__builtin_mul_overflow(numel, (uint64_t)shape[i], &numel) || numel > ((uint64_t)1 << 53))
      return mon_fail("safetensors writer: tensor '%s': too many elements", name);
  }
  if (numel > 0 && !data) return mon_fail("safetensors writer: tensor '%s': NULL data", name);
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 8;
    wentry *t = realloc(w->t, (size_t)cap * sizeof *t);
    if (!t) return mon_fail("safetensors writer: out of memory");
    w->t = t, w->cap = cap;
  }
  wentry *e = &w->t[w->n];
  memset(e, 0, sizeof *e);
  e->name = strdup(name);
  if (!e->name) return mon_fail("safetensors writer: out of memory");
  e->ndim = ndim;
  for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
  e->data = data;
  e->nbytes = (size_t)numel * sizeof(float);
  w->n++;
  return 0;
}

int mon_st_writer_meta(mon_st_writer *w, const char *key, const char *value) {
  if (!key || !value) return mon_fail("safetensors writer: metadata key and value must be set");
  for (int i = 0; i < w->nmeta; i++)
    if (!strcmp(w->keys[i], key)) {
      char *v = strdup(value);
      if (!v) return mon_fail("safetensors writer: out of memory");
      free(w->values[i]);
      w->values[i] = v;
      return 0;
    }
  if (w->nmeta == w->metacap) {
    int cap = w->metacap ? 2 * w->metacap : 8;
    char **k = realloc(w->keys, (size_t)cap * sizeof *k);
    if (!k) return mon_fail("safetensors writer: out of memory");
    w->keys = k;
    char **v = realloc(w->values, (size_t)cap * sizeof *v);
    if (!v) return mon_fail("safetensors writer: out of memory");
    w->values = v;
    w->metacap = cap;
  }
  w->keys[w->nmeta] = strdup(key);
  w->values[w->nmeta] = strdup(value);
  if (!w->keys[w->nmeta] || !w->values[w->nmeta]) {
    free(w->keys[w->nmeta]), free(w->values[w->nmeta]);
    return mon_fail("safetensors writer: out of memory");
  }
  w->nmeta++;
  return 0;
}

/* Integers go in as raw JSON text: cJSON prints doubles with %g, which would turn a large
 * offset into exponent notation that strict readers (serde's u64) refuse. */
static cJSON *raw_int(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  return cJSON_CreateRaw(buf);
}

static char *build_header(const mon_st_writer *w) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  int ok = 1;
  if (w->nmeta > 0) {
    cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
    ok = m != NULL;
    for (int i = 0; ok && i < w->nmeta; i++)
      ok = cJSON_AddStringToObject(m, w->keys[i], w->values[i]) != NULL;
  }
  uint64_t off = 0;
  for (int i = 0; ok && i < w->n; i++) {
    const wentry *e = &w->t[i];
    cJSON *o = cJSON_AddObjectToObject(root, e->name);
    ok = o && cJSON_AddStringToObject(o, "dtype", "F32");
    cJSON *shape = ok ? cJSON_AddArrayToObject(o, "shape") : NULL;
    cJSON *offs = shape ? cJSON_AddArrayToObject(o, "data_offsets") : NULL;
    ok = offs != NULL;
    for (int d = 0; ok && d < e->ndim; d++)
      ok = cJSON_AddItemToArray(shape, raw_int((uint64_t)e->shape[d]));
    ok = ok && cJSON_AddItemToArray(offs, raw_int(off)) &&
         cJSON_AddItemToArray(offs, raw_int(off + e->nbytes));
    off += e->nbytes;
  }
  char *txt = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return txt;
}

int mon_st_writer_write(mon_st_writer *w, const char *path) {
  char *json = build_header(w);
  if (!json) return mon_fail("%s: out of memory building the safetensors header", path);
  size_t jlen = strlen(json);
  /* Pad with spaces so that the data area starts 8-byte aligned, as the reference does. */
  size_t hlen = (jlen + 7) / 8 * 8;
  unsigned char *head = malloc(8 + hlen);
  if (!head) {
    free(json);
    return mon_fail("%s: out of memory", path);
  }
  for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  memcpy(head + 8, json, jlen);
  memset(head + 8 + jlen, ' ', hlen - jlen);
  free(json);
  int nparts = w->n + 1;
  const void **parts = malloc((size_t)nparts * sizeof *parts);
  size_t *lens = malloc((size_t)nparts * sizeof *lens);
  int rc;
  if (!parts || !lens) {
    rc = mon_fail("%s: out of memory", path);
  } else {
    parts[0] = head;
    lens[0] = 8 + hlen;
    for (int i = 0; i < w->n; i++) parts[i + 1] = w->t[i].data, lens[i + 1] = w->t[i].nbytes;
    rc = mon_write_atomic(path, nparts, parts, lens);
  }
  free(parts), free(lens), free(head);
  return rc;
}
