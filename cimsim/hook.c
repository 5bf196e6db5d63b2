/* Model adapter: the map_model of a loaded GPT-2 model and the linear hook that replaces every
 * weight-stationary product by its simulated CIM execution. */
#include "cimsim_int.h"
#include "runner_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int cim_model_from_mon(map_model *mm, const mon_model *m, int tokens) {
  map_model_init(mm, "gpt2");
  int nl = m->cfg.n_layer;
  for (int i = 0; i < nl; i++)
    for (int k = 0; k < MON_LIN_KINDS; k++) {
      const mon_linear *lin = &m->lin[i * MON_LIN_KINDS + k];
      char name[64];
      snprintf(name, sizeof name, "h.%d.%s", i, map_kind_name((map_kind)k));
      /* no bias: the model adds it digitally after the hook (mon_linear_fn) */
      if (map_model_add(mm, name, i, (map_kind)k, lin->out, lin->in, 0, tokens,
                        lin->is_monarch ? NULL : lin->w, lin->is_monarch ? &lin->m : NULL, NULL)) {
        map_model_destroy(mm);
        return -1;
      }
    }
  return 0;
}

int cim_linear_hook(void *ctx, int layer, mon_lin_kind kind, const mon_linear *lin, int64_t row0,
                    int batch, const float *x, float *y) {
  cim_runner *R = ctx;
  int l = layer * MON_LIN_KINDS + (int)kind;
  if (l < 0 || l >= R->mm->nlayers)
    return mon_fail("cim_linear_hook: block %d kind %d is not a layer of the runner's model", layer,
                    (int)kind);
  if (R->mm->layer[l].out != lin->out || R->mm->layer[l].in != lin->in)
    return mon_fail("cim_linear_hook: layer %d is (%d, %d), the runner's model says (%d, %d)", l,
                    lin->out, lin->in, R->mm->layer[l].out, R->mm->layer[l].in);
  if (cim_runner_needs_calibration(R) && !cim_runner_is_calibrated(R, l) &&
      cim_runner_calibrate(R, l, batch, x))
    return -1;
  if (cim_runner_apply(R, l, row0, batch, x, y)) return -1;
  float *ref = malloc((size_t)batch * lin->out * sizeof(float));
  if (!ref) return mon_fail("cim_linear_hook: out of memory");
  if (lin->is_monarch) {
    if (mon_monarch_apply(&lin->m, batch, x, ref)) {
      free(ref);
      return -1;
    }
  } else {
    mon_dense_apply(lin->w, lin->out, lin->in, batch, x, ref);
  }
  for (int b = 0; b < batch; b++) {
    double e = 0, n = 0;
    for (int o = 0; o < lin->out; o++) {
      double d = (double)y[(size_t)b * lin->out + o] - ref[(size_t)b * lin->out + o];
      e += d * d, n += (double)ref[(size_t)b * lin->out + o] * ref[(size_t)b * lin->out + o];
    }
    R->lay[l].err_sum += n > 0 ? sqrt(e / n) : sqrt(e);
    R->lay[l].err_n++;
  }
  free(ref);
  return 0;
}

double cim_runner_layer_err(const cim_runner *r, int layer) {
  if (layer < 0 || layer >= r->mm->nlayers || !r->lay[layer].err_n) return 0;
  return r->lay[layer].err_sum / (double)r->lay[layer].err_n;
}

int cim_calibrate_model(cim_runner *r, const mon_model *m, const uint8_t *text, size_t len,
                        int64_t positions) {
  if (!cim_runner_needs_calibration(r)) return 0;
  int T = m->cfg.n_positions;
  mon_eval_opts o = {.positions = positions,
                     .batch = (int)((positions + T - 1) / T),
                     .hook = cim_linear_hook,
                     .hook_ctx = r};
  mon_eval_result res;
  if (mon_model_eval(m, text, len, &o, &res)) return mon_fail_ctx("held-out calibration");
  cim_runner_reset_stats(r);
  return 0;
}

int cim_heldout_text(const uint8_t *eval, size_t neval, int T, int64_t positions,
                     int64_t cal_positions, const uint8_t **cal, size_t *ncal) {
  if (T < 1 || positions < 1 || cal_positions < 1)
    return mon_fail("held-out calibration: positions %lld, calibration positions %lld: expected "
                    ">= 1",
                    (long long)positions, (long long)cal_positions);
  size_t used = (size_t)((positions + T - 1) / T) * (size_t)T + 1;
  size_t need = (size_t)((cal_positions + T - 1) / T) * (size_t)T + 1;
  if (used + need > neval)
    return mon_fail("held-out calibration: the evaluation reads %zu bytes and the calibration "
                    "%zu, the evaluation text has %zu: fewer positions or calibration positions",
                    used, need, neval);
  *cal = eval + neval - need, *ncal = need;
  return 0;
}
