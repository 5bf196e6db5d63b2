/* Counter-based randomness: Philox-4x32-10 and Gaussian draws from it.
 *
 * Philox-4x32-10: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11 (the Random123 library). Each draw is a pure function of (key,
 * counter), so results do not depend on threads, ranks or batching.
 *
 * Normals: inverse CDF, z = sqrt(2) erfinv(2u - 1), with M. Giles' single-precision erfinv
 * ("Approximating the erfinv function", GPU Computing Gems Jade, 2011; relative error ~ 1e-7 of
 * float) and u = (k + 0.5) / 2^24 from the top 24 bits of a word, so |z| <= 5.4. One word per
 * normal and branch-free loops that the compiler vectorises (target_clones: AVX-512, AVX2). */
#include "cimsim_int.h"

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u /* Random123 philox4x32 multipliers and Weyl key increments */
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void cim_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3], k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * x0, p1 = (uint64_t)PHILOX_M1 * x2;
    uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0, y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
    x0 = y0, x1 = (uint32_t)p1, x2 = y2, x3 = (uint32_t)p0;
    k0 += PHILOX_W0, k1 += PHILOX_W1;
  }
  out[0] = x0, out[1] = x1, out[2] = x2, out[3] = x3;
}

/* log(x) for normal positive floats: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172, series to s^9 (error < 3e-9). */
static inline float logf_poly(float x) {
  uint32_t i;
  memcpy(&i, &x, 4);
  int e = (int)((i >> 23) & 255) - 127;
  uint32_t mi = (i & 0x7fffffu) | 0x3f800000u;
  float m;
  memcpy(&m, &mi, 4);
  int big = m > 1.41421356f;
  m = big ? 0.5f * m : m;
  e += big;
  float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float p = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
  return 2.0f * s * p + (float)e * 0.693147181f;
}

/* sqrt(2) erfinv(x) for x = 2u - 1 in Giles' two branches: the central one (w < 5, all but
 * 0.34 % of draws) is evaluated for every draw in a vectorised loop, the tail one only for the
 * few draws that need it. */
static inline float ninv_w(uint32_t word, float *x) {
  float u = ((float)(word >> 8) + 0.5f) * (1.0f / 16777216.0f);
  *x = 2.0f * u - 1.0f;
  return -logf_poly(4.0f * u * (1.0f - u)); /* w = -log((1-x)(1+x)) */
}

static inline float ninv_central(float w, float x) {
  float a = w - 2.5f;
  float p = 2.81022636e-08f;
  p = 3.43273939e-07f + p * a;
  p = -3.5233877e-06f + p * a;
  p = -4.39150654e-06f + p * a;
  p = 0.00021858087f + p * a;
  p = -0.00125372503f + p * a;
  p = -0.00417768164f + p * a;
  p = 0.246640727f + p * a;
  p = 1.50140941f + p * a;
  return 1.41421356f * p * x;
}

static inline float ninv_tail(float w, float x) {
  float b = sqrtf(w) - 3.0f;
  float q = -0.000200214257f;
  q = 0.000100950558f + q * b;
  q = 0.00134934322f + q * b;
  q = -0.00367342844f + q * b;
  q = 0.00573950773f + q * b;
  q = -0.0076224613f + q * b;
  q = 0.00943887047f + q * b;
  q = 1.00167406f + q * b;
  q = 2.83297682f + q * b;
  return 1.41421356f * q * x;
}

static inline float ninv(uint32_t word) {
  float x, w = ninv_w(word, &x);
  return w < 5.0f ? ninv_central(w, x) : ninv_tail(w, x);
}

/* words whose w may reach 5: 4u(1-u) <= e^-5 <=> u <= 0.0016875 or u >= 0.9983125 (a
 * slight superset, 0.34 % of words) */
static inline int maybe_tail(uint32_t word) {
  uint32_t k = word >> 8;
  return k < 28400u || k > 16777216u - 28400u; /* w >= 5 needs k <= 28311 (or mirrored) */
}

float cim_word_to_normal(uint32_t w) {
  return ninv(w);
}

#define NORM_CHUNK 64 /* Philox blocks per inner batch (256 normals) */

/* Philox blocks {c0, c1[g], c2, c3}, g < nb, into a0..a3 (word 0..3 of block g). Written lane
 * by lane so that the compiler vectorises it where AVX-512 is missing (AVX2 clone). */
__attribute__((target_clones("avx2", "default"))) static void
philox_ctr_scalar(const uint32_t key[2], uint32_t c0, const uint32_t *c1, uint32_t c2, uint32_t c3,
                  int nb, uint32_t *a0, uint32_t *a1, uint32_t *a2, uint32_t *a3) {
  for (int g = 0; g < nb; g++) {
    uint32_t x0 = c0, x1 = c1[g], x2 = c2, x3 = c3, k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
      uint64_t p0 = (uint64_t)PHILOX_M0 * x0, p1 = (uint64_t)PHILOX_M1 * x2;
      uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0, y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
      x0 = y0, x1 = (uint32_t)p1, x2 = y2, x3 = (uint32_t)p0;
      k0 += PHILOX_W0, k1 += PHILOX_W1;
    }
    a0[g] = x0, a1[g] = x1, a2[g] = x2, a3[g] = x3;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* 16 blocks per vector: 32 x 32 -> 64-bit products of the even and odd lanes (vpmuludq), split
 * into high and low words by blends. Same function as cim_philox, lane by lane. */
__attribute__((target("avx512f"))) static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi,
                                                                __m512i *lo) {
  __m512i ev = _mm512_mul_epu32(x, m);
  __m512i od = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(ev, 32), od);
  *lo = _mm512_mask_blend_epi32(0xAAAA, ev, _mm512_slli_epi64(od, 32));
}

__attribute__((target("avx512f"))) static void
philox_ctr_avx512(const uint32_t key[2], uint32_t c0, const uint32_t *c1, uint32_t c2, uint32_t c3,
                  int nb, uint32_t *a0, uint32_t *a1, uint32_t *a2, uint32_t *a3) {
  const __m512i M0 = _mm512_set1_epi32((int)PHILOX_M0), M1 = _mm512_set1_epi32((int)PHILOX_M1);
  int g = 0;
  for (; g + 16 <= nb; g += 16) {
    __m512i x0 = _mm512_set1_epi32((int)c0), x2 = _mm512_set1_epi32((int)c2);
    __m512i x3 = _mm512_set1_epi32((int)c3);
    __m512i x1 = _mm512_loadu_si512(c1 + g);
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
      __m512i h0, l0, h1, l1;
      mulhilo16(x0, M0, &h0, &l0);
      mulhilo16(x2, M1, &h1, &l1);
      x0 = _mm512_xor_si512(_mm512_xor_si512(h1, x1), _mm512_set1_epi32((int)k0));
      x2 = _mm512_xor_si512(_mm512_xor_si512(h0, x3), _mm512_set1_epi32((int)k1));
      x1 = l1, x3 = l0;
      k0 += PHILOX_W0, k1 += PHILOX_W1;
    }
    _mm512_storeu_si512(a0 + g, x0), _mm512_storeu_si512(a1 + g, x1);
    _mm512_storeu_si512(a2 + g, x2), _mm512_storeu_si512(a3 + g, x3);
  }
  if (g < nb) philox_ctr_scalar(key, c0, c1 + g, c2, c3, nb - g, a0 + g, a1 + g, a2 + g, a3 + g);
}
#endif

static void philox_ctr(const uint32_t key[2], uint32_t c0, const uint32_t *c1, uint32_t c2,
                       uint32_t c3, int nb, uint32_t *a0, uint32_t *a1, uint32_t *a2,
                       uint32_t *a3) {
#if defined(__x86_64__) && defined(__GNUC__)
  static int avx512 = -1;
  if (avx512 < 0) avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
  if (avx512) {
    philox_ctr_avx512(key, c0, c1, c2, c3, nb, a0, a1, a2, a3);
    return;
  }
#endif
  philox_ctr_scalar(key, c0, c1, c2, c3, nb, a0, a1, a2, a3);
}

/* Words -> normals: the central branch for all (vectorised), the tail branch for the few words
 * flagged (scanned eight flags at a time). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
words_to_normals(const uint32_t *restrict w, int m, float *restrict z) {
  for (int i = 0; i < m; i++) {
    float x, v = ninv_w(w[i], &x);
    z[i] = ninv_central(v, x);
  }
  uint32_t any = 0;
  for (int i = 0; i < m; i++) any |= (uint32_t)maybe_tail(w[i]);
  if (any)
    for (int i = 0; i < m; i += 16) {
      int e = m - i < 16 ? m - i : 16;
      uint32_t a = 0;
      for (int k = 0; k < e; k++) a |= (uint32_t)maybe_tail(w[i + k]);
      if (a)
        for (int k = 0; k < e; k++)
          if (maybe_tail(w[i + k])) z[i + k] = ninv(w[i + k]);
    }
}

void cim_normals(float *z, int n, const uint32_t key[2], uint32_t c0, uint32_t c1base, uint32_t c2,
                 uint32_t c3) {
  uint32_t wbuf[4 * NORM_CHUNK], c1[NORM_CHUNK];
  uint32_t a0[NORM_CHUNK], a1[NORM_CHUNK], a2[NORM_CHUNK], a3[NORM_CHUNK];
  int nblk = (n + 3) / 4;
  for (int b0 = 0; b0 < nblk; b0 += NORM_CHUNK) {
    int nb = nblk - b0 < NORM_CHUNK ? nblk - b0 : NORM_CHUNK;
    for (int g = 0; g < nb; g++) c1[g] = c1base + (uint32_t)(b0 + g);
    philox_ctr(key, c0, c1, c2, c3, nb, a0, a1, a2, a3);
    for (int g = 0; g < nb; g++)
      wbuf[4 * g] = a0[g], wbuf[4 * g + 1] = a1[g], wbuf[4 * g + 2] = a2[g],
               wbuf[4 * g + 3] = a3[g];
    int m = n - 4 * b0 < 4 * nb ? n - 4 * b0 : 4 * nb;
    words_to_normals(wbuf, m, z + 4 * b0);
  }
}

void cim_normals_segs(float *z, int nseg, int len, const uint32_t *bl0, const uint32_t key[2],
                      uint32_t c0, uint32_t c1hi, uint32_t c2, uint32_t c3) {
  /* the draw of bitline b is word b % 4 of block {c0, c1hi | b / 4, c2, c3}, as cim_normals with
   * c1base = c1hi | (a0 >> 2): segments are gathered into full vectors of counters */
  enum { CAP = 4 * NORM_CHUNK };
  uint32_t c1[CAP], a0[CAP], a1[CAP], a2[CAP], a3[CAP], wbuf[4 * CAP];
  float zt[4 * CAP];
  int s0 = 0;
  while (s0 < nseg) {
    int nb = 0, s1 = s0;
    while (s1 < nseg) {
      uint32_t al = bl0[s1] & ~3u;
      int need = ((int)(bl0[s1] - al) + len + 3) / 4;
      if (need > CAP) break;
      if (nb + need > CAP) break;
      for (int g = 0; g < need; g++) c1[nb + g] = c1hi | ((al >> 2) + (uint32_t)g);
      nb += need, s1++;
    }
    if (s1 == s0) { /* one segment longer than the buffer: in aligned pieces */
      for (int done = 0; done < len;) {
        int take = len - done < 4 * CAP - 4 ? len - done : 4 * CAP - 4;
        uint32_t first = bl0[s0] + (uint32_t)done, fal = first & ~3u, foff = first - fal;
        cim_normals(zt, (int)foff + take, key, c0, c1hi | (fal >> 2), c2, c3);
        memcpy(z + (size_t)s0 * len + done, zt + foff, (size_t)take * sizeof(float));
        done += take;
      }
      s0++;
      continue;
    }
    philox_ctr(key, c0, c1, c2, c3, nb, a0, a1, a2, a3);
    for (int g = 0; g < nb; g++)
      wbuf[4 * g] = a0[g], wbuf[4 * g + 1] = a1[g], wbuf[4 * g + 2] = a2[g],
               wbuf[4 * g + 3] = a3[g];
    words_to_normals(wbuf, 4 * nb, zt);
    int pos = 0;
    for (int s = s0; s < s1; s++) {
      uint32_t off = bl0[s] & 3u;
      memcpy(z + (size_t)s * len, zt + 4 * pos + off, (size_t)len * sizeof(float));
      pos += ((int)off + len + 3) / 4;
    }
    s0 = s1;
  }
}

void cim_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  cim_philox(ctr, key, out);
}
