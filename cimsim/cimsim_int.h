/* cimsim internals shared by rng.c, noise.c and runner.c (not part of the public API). */
#ifndef MONCIM_CIMSIM_INT_H
#define MONCIM_CIMSIM_INT_H

#include "cimsim.h"

/* Parsed non-idealities (cim_noise_parse). Zero / 0 means "off". Units in comments; every default
 * and its source is listed in noise.c (table `specs`) and docs/analog-model.md. */
typedef struct {
  double prog_gauss;   /* std of additive programming noise, fraction of (Gmax - Gmin) */
  double prog_prop;    /* std of proportional programming noise, fraction of G */
  double prog_pcm;     /* scale of the PCM state-dependent programming noise (0 = off) */
  double read_gauss;   /* std of per-cell additive read noise, fraction of (Gmax - Gmin) */
  double read_prop;    /* std of per-cell proportional read noise, fraction of G */
  int drift;           /* 1: conductance drift on */
  double drift_t;      /* inference time after programming, s */
  double drift_t0;     /* reference (first read) time, s */
  double drift_nu;     /* mean drift exponent; < 0: PCM state-dependent model (aihwkit) */
  double drift_nu_std; /* std of the drift exponent (with drift_nu >= 0) */
  int drift_comp;      /* 1: global drift compensation per factor */
  double stuck_off;    /* rate of devices stuck at Gmin */
  double stuck_on;     /* rate of devices stuck at Gmax */
  double adc_offset;   /* std of the static ADC offset, LSB */
  double adc_gain;     /* std of the static ADC gain error, relative */
  double gmax_us;      /* device Gmax, uS */
  double onoff;        /* on/off ratio Gmax / Gmin */
  int ir;              /* 1: IR drop on the crossbar wires (irdrop.h) */
  double ir_r_wire;    /* wire resistance per cell pitch, ohm */
  double ir_r_drv;     /* row driver output resistance, ohm */
  double ir_r_sns;     /* column sense input resistance, ohm */
  double ir_model;     /* 0: fast (ladders), 1: exact (nodal solve), 2: first order */
} cim_noise;

int cim_noise_parse(cim_noise *n, const char *spec);

/* Philox-4x32-10 (Salmon et al., SC'11): out = bijection_key(ctr). */
void cim_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Standard normals z[i], i < n, for counters {c0, c1base + i/4 (word i%4), c2, c3}: draw i is
 * word i%4 of Philox(c0, c1base + i/4, c2, c3), mapped by the inverse normal CDF. */
void cim_normals(float *z, int n, const uint32_t key[2], uint32_t c0, uint32_t c1base, uint32_t c2,
                 uint32_t c3);
/* The normals of nseg runs of len consecutive bitlines starting at bl0[s] (counter word
 * c1 = c1hi | bitline / 4), into z[s * len + i]: the same draws as cim_normals per run, with full
 * vectors of counters when runs are short (small blocks). */
void cim_normals_segs(float *z, int nseg, int len, const uint32_t *bl0, const uint32_t key[2],
                      uint32_t c0, uint32_t c1hi, uint32_t c2, uint32_t c3);
/* Inverse standard normal CDF of a 32-bit word (top 24 bits, midpoint rule: (k + 0.5) / 2^24). */
float cim_word_to_normal(uint32_t w);
/* Uniform in (0, 1) of a 32-bit word (top 24 bits, midpoint rule). */
static inline double cim_word_to_uniform(uint32_t w) {
  return ((double)(w >> 8) + 0.5) * (1.0 / 16777216.0);
}

#endif
