/* Non-ideality specs: "name[:key=value,...]" joined by '+', all off by default.
 * One table row per model (name, keys, defaults, valid ranges); docs/analog-model.md mirrors it. */
#include "cimsim_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *key;
  size_t off;    /* double field of cim_noise */
  double def;    /* default when the key is omitted */
  double lo, hi; /* valid range, inclusive */
} noise_key;

typedef struct {
  const char *name;
  const char *summary;
  noise_key keys[6];
  size_t flag; /* int field set to 1 when the model is named, or (size_t)-1 */
} noise_model;

#define K(k, field, d, l, h)                                                                       \
  { k, offsetof(cim_noise, field), d, l, h }
#define NOFLAG ((size_t)-1)
static const noise_model specs[] = {
    /* generic additive programming noise: G = G_T + sigma (Gmax - Gmin) n */
    {"prog-gauss",
     "independent Gaussian programming noise",
     {K("sigma", prog_gauss, 0.02, 0, 1)},
     NOFLAG},
    /* proportional programming noise: G = G_T (1 + sigma n) */
    {"prog-prop",
     "proportional Gaussian programming noise",
     {K("sigma", prog_prop, 0.05, 0, 1)},
     NOFLAG},
    /* PCM: sigma_prog(G_T) = c0 + c1 (G_T/Gmax) + c2 (G_T/Gmax)^2 uS, c = (0.26348, 1.9650,
     * -1.1731) at Gmax = 25 uS: IBM aihwkit PCMLikeNoiseModel, fit of Nandakumar et al., ICECS
     * 2019 */
    {"prog-pcm",
     "PCM state-dependent programming noise (aihwkit / Nandakumar 2019)",
     {K("scale", prog_pcm, 1.0, 0, 100)},
     NOFLAG},
    /* per-MVM read noise, per cell independent: output-referred variance sum_i x_i^2 var_ij */
    {"read-gauss",
     "per-MVM additive read noise per cell",
     {K("sigma", read_gauss, 0.01, 0, 1)},
     NOFLAG},
    {"read-prop",
     "per-MVM proportional read noise per cell",
     {K("sigma", read_prop, 0.02, 0, 1)},
     NOFLAG},
    /* g(t) = g0 ((t + t0) / t0)^-nu (aihwkit convention, t0 = 20 s); nu = -1 selects the PCM
     * state-dependent nu of aihwkit (mu = -0.0155 ln(g/gmax) + 0.0244 in [0.049, 0.1],
     * sigma = -0.0125 ln(g/gmax) - 0.0059 in [0.008, 0.045]) */
    {"drift",
     "conductance drift g0 ((t+t0)/t0)^-nu, nu per cell, global compensation",
     {K("t", drift_t, 3600, 0, 1e10), K("t0", drift_t0, 20, 1e-9, 1e10),
      K("nu", drift_nu, -1, -1, 1), K("nu_std", drift_nu_std, 0, 0, 1),
      K("comp", drift_nu_std, 1, 0, 1)}, /* comp handled specially below */
     offsetof(cim_noise, drift)},
    {"stuck",
     "devices stuck at Gmin (off) / Gmax (on)",
     {K("off", stuck_off, 0.01, 0, 1), K("on", stuck_on, 0.0, 0, 1)},
     NOFLAG},
    /* static per-ADC errors: code = round((s (1 + gain n1) + offset n2 LSB - lo) / LSB) */
    {"adc",
     "static ADC offset (LSB) and gain error (relative)",
     {K("offset", adc_offset, 0.5, 0, 1e3), K("gain", adc_gain, 0.01, 0, 1)},
     NOFLAG},
    /* device: Gmax 25 uS (aihwkit PCM default g_max); on/off 100 (assumption, typical of PCM,
     * Le Gallo & Sebastian, J. Phys. D 53, 2020) */
    {"device",
     "device conductance range",
     {K("gmax", gmax_us, 25, 1e-6, 1e6), K("onoff", onoff, 100, 1.0001, 1e12)},
     NOFLAG}, /* IR drop on the crossbar wires (irdrop.h). r_wire per cell pitch for the hardware
               * file's technology (ISAAC, 32 nm): copper wire of width F = 32 nm with NeuroSim's
               * size-effect resistivity 5.08e-8 ohm m and aspect ratio 2.0 for 25-40 nm wires
               * (NeuroSim Param.cpp, from the ITRS interconnect tables), over a cell pitch of 2F =
               * 64 nm (4F^2 crossbar cell, NeuroSim widthInFeatureSizeCrossbar = 2): 5.08e-8 *
               * 64e-9 / (32e-9 * 32e-9 * 2.0) = 1.59 ohm. (aihwkit's IOParameters.ir_drop_g_ratio
               * assumes 0.35 ohm.) r_drv, r_sns: ideal driver and virtual ground by default
               * (assumption). model: fast (first order) or exact (nodal). */
    {"ir",
     "IR drop on row/column wires: r_wire ohm per cell pitch, driver/sense ohm, "
     "model=fast|exact|first",
     {K("r_wire", ir_r_wire, 1.59, 0, 1e6), K("r_drv", ir_r_drv, 0, 0, 1e9),
      K("r_sns", ir_r_sns, 0, 0, 1e9), K("model", ir_model, 0, 0, 1)}, /* model: see below */
     offsetof(cim_noise, ir)},
};
static const int nspecs = (int)(sizeof specs / sizeof specs[0]);

static void set_defaults(cim_noise *n) {
  memset(n, 0, sizeof *n);
  n->gmax_us = 25.0; /* aihwkit PCMLikeNoiseModel g_max */
  n->onoff = 100.0;  /* assumption, see table */
  n->drift_t0 = 20.0;
  n->drift_nu = -1;
}

static int nkeys(const noise_model *m) {
  int k = 0;
  while (k < 6 && m->keys[k].key) k++;
  return k;
}

static int fail_key(const char *spec, const noise_model *m, const char *key) {
  char list[256] = "";
  for (int i = 0; i < nkeys(m); i++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", m->keys[i].key);
  }
  return mon_fail("noise spec '%s': model '%s': unknown key '%s' (expected one of: %s)", spec,
                  m->name, key, list);
}

int cim_noise_parse(cim_noise *n, const char *spec) {
  set_defaults(n);
  if (!spec || !*spec || !strcmp(spec, "none")) return 0; /* ideal devices */
  char buf[512];
  if (strlen(spec) >= sizeof buf)
    return mon_fail("noise spec: longer than %zu characters", sizeof buf - 1);
  strcpy(buf, spec);
  unsigned seen = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
    char *args = strchr(tok, ':');
    if (args) *args++ = '\0';
    int mi = -1;
    for (int i = 0; i < nspecs; i++)
      if (!strcmp(specs[i].name, tok)) mi = i;
    if (mi < 0) {
      char list[512] = "";
      for (int i = 0; i < nspecs; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", specs[i].name);
      }
      return mon_fail("noise spec '%s': unknown model '%s' (expected one of: %s)", spec, tok, list);
    }
    if (seen & (1u << mi)) return mon_fail("noise spec '%s': model '%s' given twice", spec, tok);
    seen |= 1u << mi;
    const noise_model *m = &specs[mi];
    int comp = 1;
    for (int k = 0; k < nkeys(m); k++)
      if (strcmp(m->keys[k].key, "comp")) *(double *)((char *)n + m->keys[k].off) = m->keys[k].def;
    if (m->flag != NOFLAG) *(int *)((char *)n + m->flag) = 1;
    char *s2 = NULL;
    for (char *kv = args ? strtok_r(args, ",", &s2) : NULL; kv; kv = strtok_r(NULL, ",", &s2)) {
      char *eq = strchr(kv, '=');
      if (!eq)
        return mon_fail("noise spec '%s': model '%s': '%s': expected key=value", spec, m->name, kv);
      *eq = '\0';
      const noise_key *nk = NULL;
      for (int k = 0; k < nkeys(m); k++)
        if (!strcmp(m->keys[k].key, kv)) nk = &m->keys[k];
      if (!nk) return fail_key(spec, m, kv);
      if (m->flag == offsetof(cim_noise, ir) && !strcmp(nk->key, "model")) {
        /* ir_model: 0 fast, 1 exact, 2 first (irdrop.h) */
        n->ir_model = !strcmp(eq + 1, "fast") ? 0 : !strcmp(eq + 1, "exact") ? 1 : 2;
        if (n->ir_model == 2 && strcmp(eq + 1, "first"))
          return mon_fail("noise spec '%s': model 'ir': key 'model' = '%s': expected fast, exact "
                          "or first",
                          spec, eq + 1);
        continue;
      }
      char *end;
      errno = 0;
      double v = strtod(eq + 1, &end);
      if (errno || end == eq + 1 || *end || !(v >= nk->lo && v <= nk->hi))
        return mon_fail("noise spec '%s': model '%s': key '%s' = '%s': expected a number in "
                        "[%g, %g]",
                        spec, m->name, nk->key, eq + 1, nk->lo, nk->hi);
      if (!strcmp(nk->key, "comp")) {
        if (v != 0 && v != 1)
          return mon_fail("noise spec '%s': model 'drift': key 'comp' = '%s': expected 0 or 1",
                          spec, eq + 1);
        comp = (int)v;
      } else {
        *(double *)((char *)n + nk->off) = v;
      }
    }
    if (m->flag == offsetof(cim_noise, drift)) n->drift_comp = comp;
  }
  if (n->stuck_off + n->stuck_on > 1)
    return mon_fail("noise spec '%s': model 'stuck': off + on = %g: expected <= 1", spec,
                    n->stuck_off + n->stuck_on);
  return 0;
}

int cim_noise_check(const char *spec) {
  cim_noise n;
  return cim_noise_parse(&n, spec);
}
