/* IEEE 754 binary16 ("half") storage of the programmed state: conversions written from the format
 * (1 sign bit, 5 exponent bits with bias 15, 10 fraction bits; exponent 0 = zero and subnormals
 * m 2^-24, exponent 31 = infinities and NaNs). Device levels are small integers plus deviations,
 * so every ideal level is exact in half precision and a noisy one is rounded to 11 significant
 * bits (relative error <= 2^-11): docs/analog-model.md, "Programmed state". */
#ifndef MONCIM_CIMSIM_HALF_H
#define MONCIM_CIMSIM_HALF_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t cim_f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float cim_f32_of(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Nearest half of f, ties to even; beyond the largest finite half (65504) rounds to infinity as
 * IEEE rounding does; NaN stays NaN. */
static inline uint16_t cim_f2h(float f) {
  uint32_t x = cim_f32_bits(f), sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
  if (x >= 0x47800000u) return (uint16_t)(sign | 0x7c00u); /* |f| >= 2^16: infinity */
  if (x < 0x38800000u) { /* |f| < 2^-14: a subnormal half m 2^-24 (m = 1024 is 2^-14, exact) */
    float m = nearbyintf(cim_f32_of(x) * 0x1p24f); /* exact product; default rounding: to even */
    return (uint16_t)(sign | (uint32_t)m);
  }
  uint32_t h = (((x >> 23) - 112u) << 10) | ((x >> 13) & 0x3ffu), rest = x & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* a carry may reach infinity */
  return (uint16_t)(sign | h);
}

/* The value of half h, exactly. Branch-free (selects by masks) so that loops over it vectorise. */
static inline float cim_h2f(uint16_t h) {
  uint32_t u = ((uint32_t)h & 0x7fffu) << 13, e = (uint32_t)h & 0x7c00u;
  uint32_t is_sub = 0u - (uint32_t)(e == 0), is_spec = 0u - (uint32_t)(e == 0x7c00u);
  uint32_t normal = u + (112u << 23);                                   /* rebias 15 -> 127 */
  uint32_t special = u | 0x7f800000u;                                   /* infinities, NaNs */
  uint32_t sub = cim_f32_bits(cim_f32_of(u + (113u << 23)) - 0x1p-14f); /* (m/1024) 2^-14 */
  uint32_t v = (normal & ~(is_sub | is_spec)) | (sub & is_sub) | (special & is_spec);
  return cim_f32_of(v | (((uint32_t)h & 0x8000u) << 16));
}

/* f[i] = value of h[i] for i < n (half.c: F16C instructions where the CPU has them). */
void cim_h2f_n(const uint16_t *restrict h, float *restrict f, size_t n);
/* h[i] = cim_f2h(f[i]) for i < n (F16C where present: the same rounding, to nearest even). */
void cim_f2h_n(const float *restrict f, uint16_t *restrict h, size_t n);

#endif
