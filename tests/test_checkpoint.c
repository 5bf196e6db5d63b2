/* Tests of the checkpoint readers and writers (base/safetensors.c, model/config.c):
 * round trips, exact half-precision conversion, and a rejection test per kind of malformed
 * file, each asserting both the failure and that the message names the problem. */
#include <criterion/criterion.h>

#include "model.h"

#include "test_tmpdir.h"

#include <math.h>
#include <stdint.h>

static void mk_tmpdir(void) {
  tmpdir_create("moncim_ckpt");
}
static void rm_tmpdir(void) {
  tmpdir_remove();
}
TestSuite(safetensors, .init = mk_tmpdir, .fini = rm_tmpdir);
TestSuite(safetensors_bad, .init = mk_tmpdir, .fini = rm_tmpdir);
TestSuite(gpt2_config, .init = mk_tmpdir, .fini = rm_tmpdir);

static const char *tpath(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

static void write_bytes(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(buf, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* A safetensors file with the given header text (length prefix computed) and data area. */
static const char *write_st(const char *name, const char *header, const void *data,
                            size_t data_len) {
  size_t hl = strlen(header);
  unsigned char *buf = malloc(8 + hl + data_len + 1);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(buf + 8, header, hl);
  if (data_len) memcpy(buf + 8 + hl, data, data_len);
  const char *p = tpath(name);
  write_bytes(p, buf, 8 + hl + data_len);
  free(buf);
  return p;
}

/* Opening must fail, and the message must name the file and contain every given word. */
static void expect_reject(const char *path, const char *w1, const char *w2) {
  mon_safetensors st;
  int rc = mon_st_open(&st, path);
  cr_assert_eq(rc, -1, "%s: opened a malformed file", path);
  const char *msg = mon_errmsg();
  cr_expect(strstr(msg, path) != NULL, "message does not name the file: %s", msg);
  cr_expect(strstr(msg, w1) != NULL, "message lacks '%s': %s", w1, msg);
  if (w2) cr_expect(strstr(msg, w2) != NULL, "message lacks '%s': %s", w2, msg);
  cr_expect_null(st.map, "failed open left a mapping");
  cr_expect_null(st.tensors);
}

/* ---------------------------------------------------------------- round trips */

Test(safetensors, f32_round_trip) {
  float a[2 * 3 * 4], b[5], s0 = 3.25f;
  for (int i = 0; i < 24; i++) a[i] = (float)i * 0.5f - 3.0f;
  b[0] = 1e-40f, b[1] = -INFINITY, b[2] = NAN, b[3] = -0.0f, b[4] = 3.4e38f;
  int64_t sa[3] = {2, 3, 4}, sb[1] = {5}, se[2] = {0, 7};
  mon_st_writer *w = mon_st_writer_create();
  cr_assert_not_null(w);
  cr_assert_eq(mon_st_writer_add(w, "layer.a", 3, sa, a), 0, "%s", mon_errmsg());
  cr_assert_eq(mon_st_writer_add(w, "b", 1, sb, b), 0);
  cr_assert_eq(mon_st_writer_add(w, "scalar", 0, NULL, &s0), 0);
  cr_assert_eq(mon_st_writer_add(w, "empty", 2, se, NULL), 0);
  cr_assert_eq(mon_st_writer_meta(w, "format", "pt"), 0);
  cr_assert_eq(mon_st_writer_meta(w, "note", "a \"quoted\" value"), 0);
  const char *p = tpath("rt.safetensors");
  cr_assert_eq(mon_st_writer_write(w, p), 0, "%s", mon_errmsg());
  mon_st_writer_destroy(w);

  mon_safetensors st;
  cr_assert_eq(mon_st_open(&st, p), 0, "%s", mon_errmsg());
  cr_expect_eq(st.ntensors, 4);
  cr_expect_eq(st.header_len % 8, 0, "header padded to 8 bytes: %zu", st.header_len);
  cr_expect_eq(st.map_len, 8 + st.header_len + sizeof a + sizeof b + sizeof s0,
               "data offsets contiguous, nothing else in the file");
  /* in data-offset order, which is the add order for this writer */
  cr_expect_str_eq(st.tensors[0].name, "layer.a");
  cr_expect_str_eq(st.tensors[1].name, "b");
  const mon_tensor *t = mon_st_find(&st, "layer.a");
  cr_assert_not_null(t);
  cr_expect(t->dtype == MON_F32 && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 3 &&
            t->shape[2] == 4 && t->numel == 24 && t->nbytes == sizeof a);
  t = mon_st_find(&st, "scalar");
  cr_expect(t && t->ndim == 0 && t->numel == 1);
  t = mon_st_find(&st, "empty");
  cr_expect(t && t->ndim == 2 && t->numel == 0 && t->nbytes == 0);

  float *f;
  int64_t want[3] = {2, -1, 4};
  cr_assert_eq(mon_st_read_f32(&st, "layer.a", 3, want, &f), 0, "%s", mon_errmsg());
  cr_expect_eq(memcmp(f, a, sizeof a), 0, "F32 data bit-exact");
  free(f);
  cr_assert_eq(mon_st_read_f32(&st, "b", 0, NULL, &f), 0);
  cr_expect_eq(memcmp(f, b, sizeof b), 0, "subnormal, -inf, nan, -0 kept bit-exact");
  free(f);
  cr_assert_eq(mon_st_read_f32(&st, "scalar", 0, NULL, &f), 0);
  cr_expect_eq(f[0], 3.25f);
  free(f);
  cr_assert_eq(mon_st_read_f32(&st, "empty", 0, NULL, &f), 0);
  cr_expect_not_null(f);
  free(f);
  cr_expect_eq(st.nmeta, 2);
  cr_expect_str_eq(mon_st_meta_get(&st, "format"), "pt");
  cr_expect_str_eq(mon_st_meta_get(&st, "note"), "a \"quoted\" value");
  cr_expect_null(mon_st_meta_get(&st, "absent"));
  mon_st_close(&st);
}

Test(safetensors, rewrite_is_atomic_and_leaves_no_temp) {
  float a[4] = {1, 2, 3, 4};
  int64_t s[1] = {4};
  const char *p = tpath("x.safetensors");
  for (int round = 0; round < 2; round++) {
    mon_st_writer *w = mon_st_writer_create();
    a[0] = (float)round;
    cr_assert_eq(mon_st_writer_add(w, "a", 1, s, a), 0);
    cr_assert_eq(mon_st_writer_write(w, p), 0, "%s", mon_errmsg());
    mon_st_writer_destroy(w);
  }
  mon_safetensors st;
  float *f;
  cr_assert_eq(mon_st_open(&st, p), 0);
  cr_assert_eq(mon_st_read_f32(&st, "a", 0, NULL, &f), 0);
  cr_expect_eq(f[0], 1.0f, "second write replaced the first");
  free(f);
  mon_st_close(&st);
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') {
      n++;
      cr_expect_str_eq(e->d_name, "x.safetensors");
    }
  closedir(d);
  cr_expect_eq(n, 1, "a temporary file was left behind");
}

Test(safetensors, writer_rejects_bad_input) {
  float a[2] = {1, 2};
  int64_t s[1] = {2}, neg[1] = {-2};
  mon_st_writer *w = mon_st_writer_create();
  cr_assert_eq(mon_st_writer_add(w, "a", 1, s, a), 0);
  cr_expect_eq(mon_st_writer_add(w, "a", 1, s, a), -1);
  cr_expect(strstr(mon_errmsg(), "twice") != NULL, "%s", mon_errmsg());
  cr_expect_eq(mon_st_writer_add(w, "__metadata__", 1, s, a), -1);
  cr_expect_eq(mon_st_writer_add(w, "n", 1, neg, a), -1);
  cr_expect(strstr(mon_errmsg(), "negative") != NULL, "%s", mon_errmsg());
  cr_expect_eq(mon_st_writer_add(w, "", 1, s, a), -1);
  cr_expect_eq(mon_st_writer_write(w, tpath("no/such/dir/x.safetensors")), -1);
  cr_expect(strstr(mon_errmsg(), "no/such/dir/x.safetensors") != NULL, "%s", mon_errmsg());
  mon_st_writer_destroy(w);
}

/* ---------------------------------------------------------------- half precision */

/* Independent reference: the binary16 definition evaluated in double. */
static double f16_ref(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

Test(safetensors, f16_conversion_exhaustive) {
  for (uint32_t h = 0; h < 65536; h++) {
    float f = mon_f16_to_f32((uint16_t)h);
    int e = (h >> 10) & 31, m = h & 1023;
    if (e == 31 && m == 0) {
      cr_assert(isinf(f) && (signbit(f) != 0) == (h >> 15), "0x%04x -> %g", h, f);
    } else if (e == 31) {
      cr_assert(isnan(f), "0x%04x -> %g, expected nan", h, f);
    } else {
      cr_assert_eq((double)f, f16_ref((uint16_t)h), "0x%04x -> %.9g, expected %.9g", h, f,
                   f16_ref((uint16_t)h));
      cr_assert_eq(signbit(f) != 0, (h >> 15) != 0, "sign of 0x%04x", h);
    }
  }
}

Test(safetensors, f16_and_bf16_files_with_known_values) {
  /* F16: 1, -2, smallest subnormal 2^-24, largest subnormal 1023*2^-24, smallest normal 2^-14,
   * max 65504, +inf, -inf, -0, nan. */
  uint16_t h[10] = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x8000, 0x7E00};
  /* BF16: 1.5, -3, smallest subnormal 2^-133, -inf, 1/3 rounded (0x3EAB = 0.333984375), nan */
  uint16_t b[6] = {0x3FC0, 0xC040, 0x0001, 0xFF80, 0x3EAB, 0x7FC0};
  unsigned char data[32];
  memcpy(data, h, 20), memcpy(data + 20, b, 12);
  const char *p = write_st("half.safetensors",
                           "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,5],\"data_offsets\":[0,20]},"
                           "\"b\":{\"dtype\":\"BF16\",\"shape\":[6],\"data_offsets\":[20,32]}}",
                           data, sizeof data);
  mon_safetensors st;
  cr_assert_eq(mon_st_open(&st, p), 0, "%s", mon_errmsg());
  float *f;
  int64_t sh[2] = {2, 5};
  cr_assert_eq(mon_st_read_f32(&st, "h", 2, sh, &f), 0, "%s", mon_errmsg());
  const float want[9] = {1.0f,           -2.0f,    ldexpf(1, -24), ldexpf(1023, -24),
                         ldexpf(1, -14), 65504.0f, INFINITY,       -INFINITY,
                         -0.0f};
  for (int i = 0; i < 9; i++)
    cr_expect_eq(f[i], want[i], "F16[%d] = %g, want %g", i, f[i], want[i]);
  cr_expect(signbit(f[8]), "-0 keeps its sign");
  cr_expect(isnan(f[9]));
  free(f);
  cr_assert_eq(mon_st_read_f32(&st, "b", 0, NULL, &f), 0, "%s", mon_errmsg());
  cr_expect_eq(f[0], 1.5f);
  cr_expect_eq(f[1], -3.0f);
  cr_expect_eq(f[2], ldexpf(1, -133));
  cr_expect(isinf(f[3]) && f[3] < 0);
  cr_expect_eq(f[4], 0.333984375f);
  cr_expect(isnan(f[5]));
  free(f);
  mon_st_close(&st);
}

Test(safetensors, read_errors_name_tensor) {
  const char *p = write_st("i.safetensors",
                           "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                           "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]}}",
                           (unsigned char[32]){0}, 32);
  mon_safetensors st;
  cr_assert_eq(mon_st_open(&st, p), 0, "a known dtype that does not convert still opens: %s",
               mon_errmsg());
  float *f = (float *)1;
  cr_expect_eq(mon_st_read_f32(&st, "ids", 0, NULL, &f), -1);
  cr_expect_null(f);
  cr_expect(strstr(mon_errmsg(), "'ids'") && strstr(mon_errmsg(), "I64"), "%s", mon_errmsg());
  int64_t want[2] = {3, 2};
  cr_expect_eq(mon_st_read_f32(&st, "w", 2, want, &f), -1);
  cr_expect(strstr(mon_errmsg(), "'w'") && strstr(mon_errmsg(), "(2, 2)") &&
                strstr(mon_errmsg(), "(3, 2)"),
            "%s", mon_errmsg());
  cr_expect_null(mon_st_find(&st, "nope"));
  cr_expect(strstr(mon_errmsg(), "'nope'") && strstr(mon_errmsg(), p), "%s", mon_errmsg());
  mon_st_close(&st);
}

/* ---------------------------------------------------------------- malformed files */

#define T1(name, data_len, hdr) write_st(#name ".st", hdr, (unsigned char[64]){0}, data_len)
#define ENT(n, dt, shape, b, e)                                                                    \
  "\"" n "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

Test(safetensors_bad, empty_file) {
  const char *p = tpath("empty.st");
  write_bytes(p, "", 0);
  expect_reject(p, "0 bytes", "header length");
}
Test(safetensors_bad, truncated_header_length) {
  const char *p = tpath("trunc.st");
  write_bytes(p, "\x10\x00\x00", 3);
  expect_reject(p, "3 bytes", "8-byte header length");
}
Test(safetensors_bad, zero_header_length) {
  const char *p = tpath("zero.st");
  write_bytes(p, "\0\0\0\0\0\0\0\0{}", 10);
  expect_reject(p, "header length is 0", NULL);
}
Test(safetensors_bad, header_length_beyond_file) {
  const char *p = tpath("beyond.st");
  write_bytes(p, "\x40\0\0\0\0\0\0\0{}", 10);
  expect_reject(p, "header length 64", "past the end");
}
Test(safetensors_bad, absurd_header_length) {
  const char *p = tpath("absurd.st");
  write_bytes(p, "\0\0\0\0\0\0\0\x40{}", 10); /* 2^62 */
  expect_reject(p, "absurd", NULL);
}
Test(safetensors_bad, not_a_regular_file) {
  expect_reject(tmpdir, "not a regular file", NULL);
}
Test(safetensors_bad, missing_file) {
  expect_reject(tpath("nope.st"), "cannot open", NULL);
}
Test(safetensors_bad, invalid_json) {
  expect_reject(T1(json, 4, "{\"a\":{\"dtype\":\"F32\",}"), "not valid JSON", NULL);
}
Test(safetensors_bad, trailing_garbage) {
  expect_reject(T1(trail, 0, "{}   x"), "after the JSON", NULL);
}
Test(safetensors_bad, non_object_header) {
  expect_reject(T1(arr, 0, "[1, 2]  "), "JSON object", NULL);
  expect_reject(T1(str, 0, "\"abc\"   "), "JSON object", NULL);
}
Test(safetensors_bad, entry_not_object) {
  expect_reject(T1(entry, 0, "{\"w\": [1, 2]}"), "'w'", "expected an object");
}
Test(safetensors_bad, missing_dtype) {
  expect_reject(T1(nodt, 4, "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}"), "'w'",
                "missing field 'dtype'");
}
Test(safetensors_bad, dtype_not_string) {
  expect_reject(T1(dtnum, 4, "{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}"), "'w'",
                "'dtype' must be a string");
}
Test(safetensors_bad, unknown_dtype) {
  expect_reject(T1(unk, 4, "{" ENT("w", "F33", "[1]", 0, 4) "}"), "'w'", "unknown dtype 'F33'");
}
Test(safetensors_bad, missing_shape) {
  expect_reject(T1(nosh, 4, "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}"), "'w'",
                "missing field 'shape'");
}
Test(safetensors_bad, shape_not_array) {
  expect_reject(T1(shs, 4, "{" ENT("w", "F32", "\"1\"", 0, 4) "}"), "'w'", "'shape' must be");
}
Test(safetensors_bad, missing_offsets) {
  expect_reject(T1(nooff, 4, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}"), "'w'",
                "missing field 'data_offsets'");
}
Test(safetensors_bad, offsets_wrong_arity) {
  expect_reject(T1(ar3, 4, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}"),
                "'w'", "[begin, end]");
}
Test(safetensors_bad, negative_dim) {
  expect_reject(T1(neg, 8, "{" ENT("w", "F32", "[-2,-1]", 0, 8) "}"), "'w'", "shape[0] = -2");
}
Test(safetensors_bad, fractional_dim) {
  expect_reject(T1(frac, 8, "{" ENT("w", "F32", "[2.5]", 0, 10) "}"), "'w'", "shape[0]");
}
Test(safetensors_bad, dim_not_number) {
  expect_reject(T1(dimstr, 8, "{" ENT("w", "F32", "[\"2\"]", 0, 8) "}"), "'w'", "shape[0]");
}
Test(safetensors_bad, too_many_dims) {
  expect_reject(T1(dims, 4, "{" ENT("w", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}"), "'w'",
                "9 dimensions");
}
Test(safetensors_bad, shape_product_overflow) {
  /* 2^52 * 2^52 elements: the product wraps in 64 bits */
  expect_reject(T1(ovf, 0, "{" ENT("w", "F32", "[4503599627370496,4503599627370496]", 0, 0) "}"),
                "'w'", "overflows");
}
Test(safetensors_bad, size_mismatch) {
  expect_reject(T1(mism, 24, "{" ENT("w", "F32", "[2,3]", 0, 20) "}"), "'w'", "need 24 bytes");
  expect_reject(T1(mism16, 24, "{" ENT("w", "BF16", "[2,3]", 0, 24) "}"), "'w'", "need 12 bytes");
}
Test(safetensors_bad, offsets_beyond_file) {
  expect_reject(T1(past, 16, "{" ENT("w", "F32", "[6]", 0, 24) "}"), "'w'", "past the end");
}
Test(safetensors_bad, begin_after_end) {
  expect_reject(T1(rev, 16, "{" ENT("w", "F32", "[0]", 8, 4) "}"), "'w'", "begin is after end");
}
Test(safetensors_bad, negative_offset) {
  expect_reject(T1(negoff, 16, "{" ENT("w", "F32", "[1]", -4, 0) "}"), "'w'", "data_offsets[0]");
}
Test(safetensors_bad, overlapping_tensors) {
  expect_reject(
      T1(ovl, 32, "{" ENT("a", "F32", "[4]", 0, 16) "," ENT("b", "F32", "[4]", 12, 28) "}"),
      "overlap", "'a'");
  /* one tensor nested inside another, listed first */
  expect_reject(
      T1(nest, 32, "{" ENT("in", "F32", "[1]", 8, 12) "," ENT("out", "F32", "[8]", 0, 32) "}"),
      "overlap", "'in'");
}
Test(safetensors_bad, duplicate_name) {
  expect_reject(
      T1(dup, 32, "{" ENT("a", "F32", "[4]", 0, 16) "," ENT("a", "F32", "[4]", 16, 32) "}"),
      "duplicate tensor name 'a'", NULL);
}
Test(safetensors_bad, metadata_not_string_map) {
  expect_reject(T1(meta1, 0, "{\"__metadata__\":{\"epoch\":3}}"), "__metadata__", "'epoch'");
  expect_reject(T1(meta2, 0, "{\"__metadata__\":[\"a\"]}"), "__metadata__", "object");
  expect_reject(T1(meta3, 0, "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}"), "__metadata__", "'k'");
}
Test(safetensors_bad, metadata_twice) {
  expect_reject(T1(meta4, 0, "{\"__metadata__\":{},\"__metadata__\":{}}"), "twice", NULL);
}

/* Whatever the bytes, open either succeeds with every tensor readable inside the mapping or
 * fails with a message; never a crash (the ASan build checks every access). */
Test(safetensors_bad, truncations_and_byte_flips_never_crash) {
  float a[6] = {1, 2, 3, 4, 5, 6};
  int64_t s[2] = {2, 3}, s1[1] = {2};
  mon_st_writer *w = mon_st_writer_create();
  cr_assert_eq(mon_st_writer_add(w, "a", 2, s, a), 0);
  cr_assert_eq(mon_st_writer_add(w, "b", 1, s1, a), 0);
  cr_assert_eq(mon_st_writer_meta(w, "k", "v"), 0);
  const char *p0 = tpath("good.st");
  cr_assert_eq(mon_st_writer_write(w, p0), 0);
  mon_st_writer_destroy(w);
  FILE *f = fopen(p0, "rb");
  unsigned char buf[512];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  char p[512];
  snprintf(p, sizeof p, "%s", tpath("mut.st"));
  uint64_t rng = 88172645463325252ULL;
  int opened = 0, rejected = 0;
  for (int it = 0; it < (int)n + 1500; it++) {
    unsigned char m[512];
    size_t len = n;
    memcpy(m, buf, n);
    if (it < (int)n) {
      len = (size_t)it; /* every truncation */
    } else {
      for (int k = 0; k < 1 + it % 3; k++) { /* 1..3 random byte changes */
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        m[rng % n] = (unsigned char)(rng >> 32);
      }
    }
    write_bytes(p, m, len);
    mon_safetensors st;
    if (mon_st_open(&st, p) == 0) {
      opened++;
      for (int i = 0; i < st.ntensors; i++) {
        const mon_tensor *t = &st.tensors[i];
        cr_assert((const unsigned char *)t->data + t->nbytes <=
                      (const unsigned char *)st.map + st.map_len,
                  "tensor '%s' extends past the mapping", t->name);
        float *x;
        if (mon_st_read_f32(&st, t->name, 0, NULL, &x) == 0) free(x);
      }
      mon_st_close(&st);
    } else {
      rejected++;
      cr_assert(strlen(mon_errmsg()) > 0);
    }
  }
  cr_expect_gt(rejected, (int)n, "every truncation is rejected");
  cr_expect_gt(opened, 0, "some byte flips (inside data) still open");
}

/* ---------------------------------------------------------------- config.json */

static const char *write_text(const char *name, const char *text) {
  const char *p = tpath(name);
  write_bytes(p, text, strlen(text));
  return p;
}

Test(gpt2_config, round_trip) {
  mon_gpt2_config c = {.vocab_size = 50257,
                       .n_positions = 256,
                       .n_embd = 384,
                       .n_layer = 6,
                       .n_head = 6,
                       .n_inner = 1536,
                       .monarch_nblocks = 4,
                       .layer_norm_epsilon = 1e-5};
  const char *p = tpath("config.json");
  cr_assert_eq(mon_gpt2_config_write(&c, p), 0, "%s", mon_errmsg());
  mon_gpt2_config r;
  cr_assert_eq(mon_gpt2_config_read(&r, p), 0, "%s", mon_errmsg());
  /* field by field: memcmp would also compare the struct's padding bytes */
  cr_expect(r.vocab_size == c.vocab_size && r.n_positions == c.n_positions &&
                r.n_embd == c.n_embd && r.n_layer == c.n_layer && r.n_head == c.n_head &&
                r.n_inner == c.n_inner && r.monarch_nblocks == c.monarch_nblocks &&
                r.layer_norm_epsilon == c.layer_norm_epsilon,
            "every field survives");
  c.layer_norm_epsilon = 1.0 / 3.0; /* not representable in few digits: must round-trip */
  c.n_inner = 1000;
  cr_assert_eq(mon_gpt2_config_write(&c, p), 0, "%s", mon_errmsg());
  cr_assert_eq(mon_gpt2_config_read(&r, p), 0, "%s", mon_errmsg());
  cr_expect_eq(r.layer_norm_epsilon, 1.0 / 3.0);
  cr_expect_eq(r.n_inner, 1000);
  /* the file carries what transformers needs to recognise the model */
  FILE *f = fopen(p, "r");
  char txt[2048];
  size_t n = fread(txt, 1, sizeof txt - 1, f);
  fclose(f);
  txt[n] = '\0';
  cr_expect(strstr(txt, "\"model_type\":\t\"gpt2\"") != NULL, "%s", txt);
  cr_expect(strstr(txt, "\"GPT2LMHeadModel\"") != NULL, "%s", txt);
}

Test(gpt2_config, hugging_face_defaults) {
  const char *p = write_text("hf.json", "{\"activation_function\": \"gelu_new\",\n"
                                        " \"architectures\": [\"GPT2LMHeadModel\"],\n"
                                        " \"model_type\": \"gpt2\", \"n_ctx\": 1024,\n"
                                        " \"n_embd\": 768, \"n_head\": 12, \"n_inner\": null,\n"
                                        " \"n_layer\": 12, \"n_positions\": 1024,\n"
                                        " \"vocab_size\": 50257}\n");
  mon_gpt2_config c;
  cr_assert_eq(mon_gpt2_config_read(&c, p), 0, "%s", mon_errmsg());
  cr_expect_eq(c.n_inner, 4 * 768, "n_inner null means 4 * n_embd");
  cr_expect_eq(c.monarch_nblocks, 0, "absent monarch_nblocks means dense");
  cr_expect_eq(c.layer_norm_epsilon, 1e-5);
  cr_expect(c.vocab_size == 50257 && c.n_positions == 1024 && c.n_layer == 12 && c.n_head == 12);
}

static void expect_config_reject(const char *name, const char *text, const char *w1,
                                 const char *w2) {
  const char *p = write_text(name, text);
  mon_gpt2_config c;
  cr_assert_eq(mon_gpt2_config_read(&c, p), -1, "%s accepted", name);
  const char *msg = mon_errmsg();
  cr_expect(strstr(msg, p) != NULL, "message does not name the file: %s", msg);
  cr_expect(strstr(msg, w1) != NULL, "message lacks '%s': %s", w1, msg);
  if (w2) cr_expect(strstr(msg, w2) != NULL, "message lacks '%s': %s", w2, msg);
}

#define CFG(extra)                                                                                 \
  "{\"vocab_size\": 100, \"n_positions\": 64, \"n_layer\": 2, \"n_head\": 4" extra "}"

Test(gpt2_config, bad_fields) {
  expect_config_reject("c1.json", CFG(", \"n_embd\": \"64\""), "'n_embd'", "integer");
  expect_config_reject("c2.json", CFG(", \"n_embd\": 66"), "'n_embd' = 66", "'n_head' = 4");
  expect_config_reject("c3.json", CFG(", \"n_embd\": -64"), "'n_embd'", NULL);
  expect_config_reject("c4.json", CFG(", \"n_embd\": 64, \"n_inner\": 2.5"), "'n_inner'", NULL);
  expect_config_reject("c5.json", CFG(""), "missing field 'n_embd'", NULL);
  expect_config_reject("c6.json", CFG(", \"n_embd\": 64, \"model_type\": \"bert\""), "'model_type'",
                       "gpt2");
  expect_config_reject("c7.json", CFG(", \"n_embd\": 64, \"monarch_nblocks\": 65"),
                       "'monarch_nblocks' = 65", NULL);
  expect_config_reject("c8.json", CFG(", \"n_embd\": 64, \"layer_norm_epsilon\": -1"),
                       "'layer_norm_epsilon'", NULL);
  expect_config_reject("c9.json", "{\"vocab_size\": 100,\n \"n_embd\": }", ":2: invalid JSON",
                       NULL);
  expect_config_reject("c10.json", "[1, 2]", "JSON object", NULL);
  expect_config_reject("c11.json", CFG(", \"n_embd\": true"), "'n_embd'", NULL);
  mon_gpt2_config c;
  cr_expect_eq(mon_gpt2_config_read(&c, tpath("absent.json")), -1);
  cr_expect(strstr(mon_errmsg(), "cannot open") != NULL, "%s", mon_errmsg());
}

Test(gpt2_config, write_refuses_invalid) {
  mon_gpt2_config c = {.vocab_size = 10,
                       .n_positions = 8,
                       .n_embd = 10,
                       .n_layer = 1,
                       .n_head = 3,
                       .n_inner = 40,
                       .layer_norm_epsilon = 1e-5};
  cr_expect_eq(mon_gpt2_config_write(&c, tpath("bad.json")), -1);
  cr_expect_eq(access(tpath("bad.json"), F_OK), -1, "nothing written");
}
