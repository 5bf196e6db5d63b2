/* The mapping and cost settings a study varies (mapping.h, map_settings): one parser per
 * setting, used by `moncim map` / `moncim trace` options and a sweep's option.NAME lines. */
#include "mapping.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const map_setting_names[MAP_NSETTINGS] = {
    "dense_layout",  "dense_row_split", "share_rows",
    "digital_lanes", "fold_permute",    "adc_lossless",
};

void map_settings_init(map_settings *s) {
  for (int i = 0; i < MAP_NSETTINGS; i++) s->v[i] = -1;
}

int map_setting_find(const char *name) {
  for (int i = 0; i < MAP_NSETTINGS; i++)
    if (!strcmp(name, map_setting_names[i])) return i;
  return -1;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return mon_fail("expected an integer in [%ld, %ld], got '%s'", lo, hi, s);
  *out = (int)v;
  return 0;
}

int map_settings_set(map_settings *s, const char *name, const char *value) {
  int k = map_setting_find(name), v = 0;
  switch (k) {
  case MAP_SET_DENSE_LAYOUT:
    if (!strcmp(value, "interleaved"))
      v = MAP_DENSE_INTERLEAVED;
    else if (!strcmp(value, "contiguous"))
      v = MAP_DENSE_CONTIGUOUS;
    else
      return mon_fail("expected interleaved or contiguous, got '%s'", value);
    break;
  case MAP_SET_DENSE_ROW_SPLIT: /* at most the rows of an array; map_build checks the hardware's */
    if (parse_int(value, 1, 65536, &v)) return -1;
    break;
  case MAP_SET_DIGITAL_LANES: /* the range map_hw_load accepts */
    if (parse_int(value, 1, 1 << 20, &v)) return -1;
    break;
  case MAP_SET_SHARE_ROWS:
  case MAP_SET_FOLD_PERMUTE:
  case MAP_SET_ADC_LOSSLESS:
    if (parse_int(value, 0, 1, &v)) return -1;
    break;
  default:
    return mon_fail("'%s' is not a mapping setting", name);
  }
  s->v[k] = v;
  return 0;
}

void map_settings_apply(const map_settings *s, map_hw *hw, map_options *o) {
  const int *v = s->v;
  if (o && v[MAP_SET_DENSE_LAYOUT] >= 0)
    o->dense_layout = (map_dense_layout)v[MAP_SET_DENSE_LAYOUT];
  if (o && v[MAP_SET_DENSE_ROW_SPLIT] >= 0) o->dense_row_split = v[MAP_SET_DENSE_ROW_SPLIT];
  if (o && v[MAP_SET_SHARE_ROWS] >= 0) o->share_rows = v[MAP_SET_SHARE_ROWS];
  if (hw && v[MAP_SET_DIGITAL_LANES] >= 0) hw->digital_lanes = v[MAP_SET_DIGITAL_LANES];
  if (hw && v[MAP_SET_FOLD_PERMUTE] >= 0) hw->fold_permute = v[MAP_SET_FOLD_PERMUTE];
  if (hw && v[MAP_SET_ADC_LOSSLESS] >= 0) hw->adc_lossless = v[MAP_SET_ADC_LOSSLESS];
}
