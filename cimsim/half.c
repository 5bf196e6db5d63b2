/* Bulk conversions of the programmed state: half -> float before a block's SGEMM (exec.c), float
 * -> half as a block is programmed (runner.c). The portable half -> float loop vectorises (about
 * 0.5 ns per value with SSE4.2); x86 CPUs with F16C convert 8 values per instruction, chosen once
 * at run time. Both paths give the same bits, NaN payloads aside (tests/test_cimsim.c, half/ *). */
#include "half.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx,f16c"))) static void h2f_f16c(const uint16_t *restrict h,
                                                         float *restrict f, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
  for (; i < n; i++) f[i] = cim_h2f(h[i]);
}
__attribute__((target("avx,f16c"))) static void f2h_f16c(const float *restrict f,
                                                         uint16_t *restrict h, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++) h[i] = cim_f2h(f[i]);
}
#define HAVE_F16C_PATH 1
#endif

static int have_f16c(void) {
#ifdef HAVE_F16C_PATH
  static int f16c = -1; /* racy first use is benign: every thread computes the same value */
  if (f16c < 0) f16c = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return f16c;
#else
  return 0;
#endif
}

void cim_h2f_n(const uint16_t *restrict h, float *restrict f, size_t n) {
#ifdef HAVE_F16C_PATH
  if (have_f16c()) {
    h2f_f16c(h, f, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) f[i] = cim_h2f(h[i]);
}

void cim_f2h_n(const float *restrict f, uint16_t *restrict h, size_t n) {
#ifdef HAVE_F16C_PATH
  if (have_f16c()) {
    f2h_f16c(f, h, n);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++) h[i] = cim_f2h(f[i]);
}
