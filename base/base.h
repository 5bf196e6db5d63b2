/* moncim base: what every module may use — errors, atomic file writes, hashing, and the
 * safetensors reader/writer (memory-mapped, every offset, shape and dtype validated).
 *
 * Every function that can fail returns 0 on success and -1 on failure, after recording a
 * message that mon_errmsg() returns (per thread). Only the harness (bench/) exits.
 */
#ifndef MONCIM_BASE_H
#define MONCIM_BASE_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

#define MON_ERRLEN 1024

/* Records a printf-style message as this thread's last error and returns -1. */
int mon_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends "prefix: " to the current message (adds context while unwinding); returns -1. */
int mon_fail_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* This thread's last error message ("" if none). */
const char *mon_errmsg(void);

/* ---------------------------------------------------------------- files */

/* Writes nparts buffers to path atomically: a temporary file in the same directory, every
 * write/fsync/close checked, then rename(). On failure path is untouched and no temp remains. */
int mon_write_atomic(const char *path, int nparts, const void *const *parts, const size_t *lens);

/* Reads a whole regular file of at most max_bytes into a malloc'ed, NUL-terminated buffer;
 * *len gets its length. NULL + an error naming the file (and `what` it should have been when it
 * is too large). */
char *mon_read_file(const char *path, size_t max_bytes, const char *what, size_t *len);

/* ---------------------------------------------------------------- hashing */

/* The splitmix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a bijective 64-bit mix with full avalanche. */
static inline uint64_t mon_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/* The splitmix64 increment: 2^64 / golden ratio, odd. */
#define MON_GOLDEN64 0x9e3779b97f4a7c15ULL
/* A stateless hash of x: the splitmix64 output for state x (counter-based draws, ids). */
static inline uint64_t mon_hash64(uint64_t x) {
  return mon_mix64(x + MON_GOLDEN64);
}
/* One step of the splitmix64 generator: advances *state, returns the next draw. */
static inline uint64_t mon_splitmix64(uint64_t *state) {
  return mon_mix64(*state += MON_GOLDEN64);
}
/* Uniform double in [0, 1) from the top 53 bits of a 64-bit draw. */
static inline double mon_u01(uint64_t z) {
  return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- safetensors */

/* Element types of safetensors. F32, F16 and BF16 convert to float32; the others are
 * validated and listed (moncim info) but mon_st_read_f32 refuses them by name. */
typedef enum {
  MON_F32 = 0,
  MON_F16,
  MON_BF16,
  MON_F64,
  MON_I64,
  MON_I32,
  MON_I16,
  MON_I8,
  MON_U64,
  MON_U32,
  MON_U16,
  MON_U8,
  MON_BOOL,
  MON_F8_E4M3,
  MON_F8_E5M2,
  MON_NDTYPES
} mon_dtype;

#define MON_MAX_DIMS 8
#define MON_NAME_MAX 256

typedef struct {
  char name[MON_NAME_MAX];
  mon_dtype dtype;
  int ndim;
  int64_t shape[MON_MAX_DIMS];
  int64_t numel;
  const void *data; /* into the read-only mapping, nbytes long */
  size_t nbytes;
} mon_tensor;

/* A safetensors file, memory-mapped read-only; every offset, shape and dtype validated. */
typedef struct {
  char path[4096];
  void *map;
  size_t map_len;
  int ntensors;
  mon_tensor *tensors; /* in file order of their data offsets */
  char *metadata_json; /* the "__metadata__" object as JSON text, or NULL */
  int nmeta;           /* number of "__metadata__" entries */
  char **meta_keys;    /* (nmeta) keys, in file order */
  char **meta_values;  /* (nmeta) values */
  size_t header_len;   /* JSON header bytes (the 8-byte length prefix excluded) */
} mon_safetensors;

int mon_st_open(mon_safetensors *st, const char *path);
void mon_st_close(mon_safetensors *st);
/* NULL (and an error message naming the file and the tensor) if absent. */
const mon_tensor *mon_st_find(const mon_safetensors *st, const char *name);
/* Converts a tensor to freshly malloc'ed float32 (F32, F16, BF16); caller frees. If
 * expect_ndim > 0, also checks the shape against expect_shape (-1 = any) with a clear message. */
int mon_st_read_f32(const mon_safetensors *st, const char *name, int expect_ndim,
                    const int64_t *expect_shape, float **out);
/* The same into dst (numel floats), without an intermediate copy. */
int mon_st_read_f32_into(const mon_safetensors *st, const char *name, int expect_ndim,
                         const int64_t *expect_shape, float *dst);
/* Drops the resident pages of tensor t's bytes from the mapping (after converting it), so that
 * loading a model never holds the file's pages and the float copy of everything at once. */
void mon_st_release(const mon_safetensors *st, const mon_tensor *t);
const char *mon_dtype_name(mon_dtype t);
/* Bytes per element of a dtype. */
size_t mon_dtype_size(mon_dtype t);
/* Value of a "__metadata__" key, or NULL if absent (no error recorded). */
const char *mon_st_meta_get(const mon_safetensors *st, const char *key);
/* IEEE half (binary16) and bfloat16 bit patterns to float32, exact (subnormals, inf, nan). */
float mon_f16_to_f32(uint16_t h);
float mon_bf16_to_f32(uint16_t b);

/* Writer: collect tensors (borrowed pointers, F32), then write atomically (tmp + rename). */
typedef struct mon_st_writer mon_st_writer;
mon_st_writer *mon_st_writer_create(void);
int mon_st_writer_add(mon_st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data);
/* Optional "__metadata__" string map entries. */
int mon_st_writer_meta(mon_st_writer *w, const char *key, const char *value);
int mon_st_writer_write(mon_st_writer *w, const char *path);
void mon_st_writer_destroy(mon_st_writer *w);

#endif
