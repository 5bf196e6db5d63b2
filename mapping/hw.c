/* Hardware description: cited defaults, a table-driven JSON loader and validation. */
#include "mapping.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Defaults follow ISAAC (Shafiee et al., ISCA 2016, Table 1: 32 nm, 128x128 arrays of 2-bit
 * memristors, 1-bit DACs, one 8-bit 1.28 GS/s ADC per array, 100 ns crossbar read), rescaled to
 * 256 x 256 arrays where a number is per array. Each field's source is repeated in
 * configs/hw-default.json and docs/mapping.md. */
void map_hw_default(map_hw *hw) {
  *hw = (map_hw){
      .name = "isaac-256",
      .rows = 256,              /* DESIGN.md default array size */
      .cols = 256,              /* DESIGN.md default array size */
      .cell_bits = 2,           /* ISAAC: 2 bits per memristor cell */
      .w_bits = 8,              /* assumption: 8-bit weights (common CIM LLM setting) */
      .in_bits = 8,             /* assumption: 8-bit activations */
      .dac_bits = 1,            /* ISAAC: 1-bit DACs, bit-serial inputs */
      .adc_bits = 8,            /* ISAAC: 8-bit ADC */
      .cols_per_adc = 128,      /* ISAAC: one ADC per 128 columns */
      .differential = 1,        /* assumption: G+/G- pair for signed weights */
      .t_read_ns = 100.0,       /* ISAAC: 100 ns crossbar read cycle */
      .t_adc_ns = 0.78125,      /* ISAAC: 1.28 GS/s ADC -> 1/1.28 ns per conversion */
      .t_digital_ns = 0.8333,   /* ISAAC: 1.2 GHz digital clock, one element per cycle */
      .t_program_ns = 1000.0,   /* assumption: ~10 write-verify pulses of 100 ns per row */
      .e_adc_pj = 1.5625,       /* ISAAC: 8 ADCs 16 mW at 1.28 GS/s -> 2 mW / 1.28 GHz */
      .e_dac_pj = 0.00039,      /* ISAAC: 8x128 DACs 4 mW -> 3.9 uW x 100 ns */
      .e_cell_pj = 0.00183,     /* ISAAC: 8 arrays of 128x128 2.4 mW -> per cell x 100 ns */
      .e_digital_pj = 0.0417,   /* ISAAC: 4 shift-and-add units 0.2 mW at 1.2 GHz */
      .a_array_mm2 = 0.0001,    /* ISAAC: 8 arrays 128x128 0.0002 mm^2 -> x4 cells for 256x256 */
      .a_adc_mm2 = 0.0012,      /* ISAAC: 8 ADCs 0.0096 mm^2 */
      .a_dac_mm2 = 1.66e-7,     /* ISAAC: 1024 DACs 0.00017 mm^2 */
      .a_digital_mm2 = 0.00006, /* ISAAC: 4 shift-and-add units 0.00024 mm^2 */
      .adc_ref_bits = 8,        /* ISAAC: e_adc_pj and a_adc_mm2 are its 8-bit ADC's numbers */
      /* B. Murmann, "ADC Performance Survey 1997-2023": the thermal-noise-limited envelope of
       * the Schreier FOM (SNDR + 10 log10(fs/2 / P)) lies near 185 dB for the best designs
       * (value read off the survey's FOM_S plot, not a fit; it only matters above ~12 bits) */
      .adc_fom_s_db = 185.0,
      .adc_area_cap_frac = 0.5, /* assumption: half of a SAR ADC's area in its capacitor DAC */
      /* M. Horowitz, "Computing's energy problem", ISSCC 2014: 8 KB SRAM, 64-bit access 10 pJ
       * at 45 nm -> 2.5 pJ per 16-bit word (activations/partial sums); not scaled to 32 nm */
      .e_buffer_pj = 2.5,
      .digital_lanes = 1, /* assumption: scalar digital unit, as t_digital_ns (one element per
                             ISAAC 1.2 GHz cycle); conservative, raise for a SIMD vector unit */
      .fold_permute = 0,  /* option: explicit PERMUTE between Monarch factors (report both) */
      .adc_lossless = 0,  /* option: every mapping's ADCs costed at adc_bits */
  };
}

typedef enum { F_INT, F_DOUBLE, F_STRING } field_type;

/* One row per field: the loader, validator and JSON writer all walk this table. */
typedef struct {
  const char *key;
  field_type type;
  size_t off;
  double lo, hi; /* valid range, inclusive (F_STRING: max length) */
  const char *unit;
} hw_field;

#define FI(k, lo, hi, u)                                                                           \
  { #k, F_INT, offsetof(map_hw, k), lo, hi, u }
#define FD(k, lo, hi, u)                                                                           \
  { #k, F_DOUBLE, offsetof(map_hw, k), lo, hi, u }
static const hw_field hw_fields[] = {
    {"name", F_STRING, offsetof(map_hw, name), 0, 63, "text"},
    FI(rows, 1, 65536, "wordlines"),
    FI(cols, 1, 65536, "bitlines"),
    FI(cell_bits, 1, 8, "bits"),
    FI(w_bits, 1, 32, "bits"),
    FI(in_bits, 1, 32, "bits"),
    FI(dac_bits, 1, 16, "bits"),
    FI(adc_bits, 1, 32, "bits"),
    FI(cols_per_adc, 1, 65536, "columns"),
    FI(differential, 0, 1, "0 or 1"),
    FD(t_read_ns, 0, 1e9, "ns"),
    FD(t_adc_ns, 0, 1e9, "ns"),
    FD(t_digital_ns, 0, 1e9, "ns"),
    FD(t_program_ns, 0, 1e12, "ns"),
    FD(e_adc_pj, 0, 1e9, "pJ"),
    FD(e_dac_pj, 0, 1e9, "pJ"),
    FD(e_cell_pj, 0, 1e9, "pJ"),
    FD(e_digital_pj, 0, 1e9, "pJ"),
    FD(a_array_mm2, 0, 1e6, "mm^2"),
    FD(a_adc_mm2, 0, 1e6, "mm^2"),
    FD(a_dac_mm2, 0, 1e6, "mm^2"),
    FD(a_digital_mm2, 0, 1e6, "mm^2"),
    FI(adc_ref_bits, 1, 32, "bits"),
    FD(adc_fom_s_db, 100, 250, "dB"),
    FD(adc_area_cap_frac, 0, 1, "fraction"),
    FD(e_buffer_pj, 0, 1e9, "pJ"),
    FI(digital_lanes, 1, 1 << 20, "elements per digital cycle"),
    FI(fold_permute, 0, 1, "0 or 1"),
    FI(adc_lossless, 0, 1, "0 or 1"),
};
static const int nhw_fields = (int)(sizeof hw_fields / sizeof hw_fields[0]);

/* Thermal-noise-limited energy per conversion (pJ) at `bits` from the Schreier FOM:
 * FOM_S = SNDR + 10 log10((fs/2) / P), SNDR = 6.02 B + 1.76 dB (ideal B-bit quantizer), so
 * E = P / fs = 0.5 * 10^((SNDR - FOM_S) / 10) J (R. Schreier, G. Temes, "Understanding
 * Delta-Sigma Data Converters", 2005; as used in Murmann's ADC survey). */
static double adc_thermal_pj(const map_hw *hw, int bits) {
  double sndr = 6.02 * bits + 1.76;
  return 0.5 * pow(10.0, (sndr - hw->adc_fom_s_db) / 10.0) * 1e12;
}

double map_hw_adc_energy_pj(const map_hw *hw, int bits) {
  /* Walden (FOM_W = P / (fs 2^ENOB), R. Walden, IEEE JSAC 17(4), 1999): E = FOM_W 2^B dominates
   * below ~12 bits; the thermal term 4^B above. FOM_W is chosen so that E(adc_ref_bits) =
   * e_adc_pj: ISAAC's 1.5625 pJ at 8 bits gives FOM_W = 6.04 fJ/conversion-step. */
  if (hw->e_adc_pj <= 0) return 0;
  double fom_w =
      (hw->e_adc_pj - adc_thermal_pj(hw, hw->adc_ref_bits)) / ldexp(1.0, hw->adc_ref_bits);
  return fom_w * ldexp(1.0, bits) + adc_thermal_pj(hw, bits);
}

double map_hw_adc_area_mm2(const map_hw *hw, int bits) {
  /* SAR ADC: a binary-weighted capacitor DAC of 2^B unit capacitors (area ~ 2^B) plus one
   * comparator and a B-bit SAR register (area ~ B), normalised to a_adc_mm2 at adc_ref_bits. */
  double f = hw->adc_area_cap_frac, rb = hw->adc_ref_bits;
  return hw->a_adc_mm2 * (f * ldexp(1.0, bits - hw->adc_ref_bits) + (1 - f) * bits / rb);
}

int map_hw_validate(const map_hw *hw, const char *origin) {
  for (int i = 0; i < nhw_fields; i++) {
    const hw_field *f = &hw_fields[i];
    const char *p = (const char *)hw + f->off;
    if (f->type == F_INT) {
      int v = *(const int *)p;
      if (v < f->lo || v > f->hi)
        return mon_fail("%s: field '%s' = %d: expected an integer in [%g, %g] (%s)", origin, f->key,
                        v, f->lo, f->hi, f->unit);
    } else if (f->type == F_DOUBLE) {
      double v = *(const double *)p;
      if (!(v >= f->lo && v <= f->hi))
        return mon_fail("%s: field '%s' = %g: expected a number in [%g, %g] (%s)", origin, f->key,
                        v, f->lo, f->hi, f->unit);
    }
  }
  if (hw->in_bits < hw->dac_bits)
    return mon_fail("%s: field 'dac_bits' = %d: expected <= in_bits (%d)", origin, hw->dac_bits,
                    hw->in_bits);
  if (hw->cols_per_adc > hw->cols)
    return mon_fail("%s: field 'cols_per_adc' = %d: expected <= cols (%d)", origin,
                    hw->cols_per_adc, hw->cols);
  double eth = adc_thermal_pj(hw, hw->adc_ref_bits);
  if (hw->e_adc_pj > 0 && hw->e_adc_pj <= eth)
    return mon_fail("%s: field 'e_adc_pj' = %g: expected 0 or more than the thermal-noise limit "
                    "%g pJ at adc_ref_bits = %d (adc_fom_s_db = %g)",
                    origin, hw->e_adc_pj, eth, hw->adc_ref_bits, hw->adc_fom_s_db);
  if (hw->differential && hw->w_bits < 2)
    return mon_fail("%s: field 'w_bits' = %d: expected >= 2 with differential = 1 (sign + "
                    "magnitude)",
                    origin, hw->w_bits);
  return 0;
}

int map_hw_load(map_hw *hw, const char *path) {
  map_hw_default(hw);
  FILE *f = fopen(path, "rb");
  if (!f) return mon_fail("%s: cannot open hardware file: %s", path, strerror(errno));
  char *text = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 8192;
      char *t = realloc(text, cap);
      if (!t) {
        free(text);
        fclose(f);
        return mon_fail("%s: out of memory", path);
      }
      text = t;
    }
    size_t n = fread(text + len, 1, 4096, f);
    len += n;
    if (n < 4096) break;
  }
  fclose(f);
  text[len] = '\0';
  cJSON *root = cJSON_Parse(text);
  if (!root) {
    const char *e = cJSON_GetErrorPtr();
    long off = e ? (long)(e - text) : -1;
    int line = 1;
    for (long i = 0; i < off && i < (long)len; i++) line += text[i] == '\n';
    free(text);
    return mon_fail("%s:%d: invalid JSON", path, line);
  }
  free(text);
  int rc = 0;
  if (!cJSON_IsObject(root)) {
    rc = mon_fail("%s: expected a JSON object at the top level", path);
    goto done;
  }
  for (cJSON *it = root->child; it; it = it->next) {
    if (!it->string || it->string[0] == '_') continue; /* comments and sources */
    const hw_field *fd = NULL;
    for (int i = 0; i < nhw_fields; i++)
      if (!strcmp(hw_fields[i].key, it->string)) fd = &hw_fields[i];
    if (!fd) {
      rc = mon_fail("%s: field '%s': unknown (expected one of the fields in docs/mapping.md, or a "
                    "key starting with '_' for comments)",
                    path, it->string);
      goto done;
    }
    char *p = (char *)hw + fd->off;
    if (fd->type == F_STRING) {
      if (!cJSON_IsString(it) || strlen(it->valuestring) > (size_t)fd->hi) {
        rc = mon_fail("%s: field '%s': expected a string of at most %g characters", path, fd->key,
                      fd->hi);
        goto done;
      }
      snprintf(p, (size_t)fd->hi + 1, "%s", it->valuestring);
    } else if (!cJSON_IsNumber(it)) {
      rc = mon_fail("%s: field '%s': expected a number (%s)", path, fd->key, fd->unit);
      goto done;
    } else if (fd->type == F_INT) {
      double v = it->valuedouble;
      if (v != floor(v) || v < fd->lo || v > fd->hi) {
        rc = mon_fail("%s: field '%s' = %g: expected an integer in [%g, %g] (%s)", path, fd->key, v,
                      fd->lo, fd->hi, fd->unit);
        goto done;
      }
      *(int *)p = (int)v;
    } else {
      *(double *)p = it->valuedouble;
    }
  }
  rc = map_hw_validate(hw, path);
done:
  cJSON_Delete(root);
  return rc;
}

int map_hw_write_json(const map_hw *hw, FILE *f) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return mon_fail("hw: out of memory");
  for (int i = 0; i < nhw_fields; i++) {
    const hw_field *fd = &hw_fields[i];
    const char *p = (const char *)hw + fd->off;
    if (fd->type == F_STRING)
      cJSON_AddStringToObject(o, fd->key, p);
    else if (fd->type == F_INT)
      cJSON_AddNumberToObject(o, fd->key, *(const int *)p);
    else
      cJSON_AddNumberToObject(o, fd->key, *(const double *)p);
  }
  char *s = cJSON_Print(o);
  cJSON_Delete(o);
  if (!s) return mon_fail("hw: out of memory");
  fprintf(f, "%s\n", s);
  cJSON_free(s);
  return 0;
}

int map_hw_adcs_per_array(const map_hw *hw) {
  long phys = (long)hw->cols * map_hw_slices(hw);
  return (int)((phys + hw->cols_per_adc - 1) / hw->cols_per_adc);
}

void map_hw_add_adc_conversions(const map_hw *hw, int col0, int ncols, int *cnt) {
  /* slice-major physical bitlines (slice j, column c -> j*cols + c); an ADC group may straddle two
   * slices when cols_per_adc does not divide cols, so counts are summed per group. */
  int sl = map_hw_slices(hw), cpa = hw->cols_per_adc;
  for (int j = 0; j < sl; j++) {
    long a = (long)j * hw->cols + col0, b = a + ncols; /* [a, b) physical */
    for (long g = a / cpa; g * cpa < b; g++) {
      long lo = g * cpa > a ? g * cpa : a, hi = (g + 1) * cpa < b ? (g + 1) * cpa : b;
      cnt[g] += (int)(hi - lo);
    }
  }
}

int map_hw_max_conv_per_adc(const map_hw *hw, int col0, int ncols) {
  int sl = map_hw_slices(hw), nadc = map_hw_adcs_per_array(hw);
  if (ncols <= 0) return 0;
  int small[64], *cnt = nadc <= 64 ? small : calloc((size_t)nadc, sizeof(int));
  if (!cnt) return ncols * sl; /* pessimistic bound, only on allocation failure */
  if (cnt == small) memset(small, 0, sizeof small);
  map_hw_add_adc_conversions(hw, col0, ncols, cnt);
  int best = 0;
  for (int g = 0; g < nadc; g++)
    if (cnt[g] > best) best = cnt[g];
  if (cnt != small) free(cnt);
  return best;
}

int map_hw_slices(const map_hw *hw) {
  /* differential: sign in the pair, magnitude w_bits - 1 over slices; offset: w_bits unsigned */
  int mag = hw->differential ? hw->w_bits - 1 : hw->w_bits;
  int sl = (mag + hw->cell_bits - 1) / hw->cell_bits;
  return sl * (hw->differential ? 2 : 1);
}

long long map_hw_conversions(const map_hw *hw, int ncols) {
  /* every device column (slice, pair side) of a logical column is converted in every DAC step */
  return (long long)ncols * map_hw_slices(hw) * map_hw_dac_steps(hw);
}

int map_hw_dac_steps(const map_hw *hw) {
  return (hw->in_bits + hw->dac_bits - 1) / hw->dac_bits;
}

int map_hw_lossless_adc_bits(const map_hw *hw, int rows) {
  double levels =
      (double)rows * (double)((1 << hw->cell_bits) - 1) * (double)((1 << hw->dac_bits) - 1) + 1.0;
  return (int)ceil(log2(levels) - 1e-12);
}
