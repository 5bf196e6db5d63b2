/* Statistics and the simple cost estimate of a mapping and its stream. */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>

/* Duration (ns) and energy (pJ) of one command under the simple model of mapping.h. */
static void cmd_cost(const map_cmd *c, const map_hw *hw, double *t, double *e) {
  int steps = map_hw_dac_steps(hw), sl = map_hw_slices(hw), cl = map_hw_conv_lines(hw);
  *t = *e = 0;
  switch (c->op) {
  case MAP_OP_DRIVE:
    *e = (double)c->nrows * steps * hw->e_dac_pj;
    break;
  case MAP_OP_CONVERT: {
    int conv = map_hw_max_conv_per_adc(hw, c->col0, c->ncols);
    double nconv = (double)c->ncols * cl * steps;
    *t = steps * (hw->t_read_ns + conv * hw->t_adc_ns);
    *e = nconv * (hw->e_adc_pj + hw->e_digital_pj) /* conversion + its shift-add */
         + (double)c->count * c->ncols * sl * steps * hw->e_cell_pj;
    break;
  }
  case MAP_OP_ACCUM:
    *t = (double)c->ncols * (c->count - 1) * hw->t_digital_ns;
    *e = (double)c->ncols * (c->count - 1) * hw->e_digital_pj;
    break;
  case MAP_OP_PERMUTE:
    *t = (double)c->nrows * c->ncols * hw->t_digital_ns;
    *e = (double)c->nrows * c->ncols * hw->e_digital_pj;
    break;
  case MAP_OP_DIGITAL:
    if (c->sub != MAP_DIG_BARRIER) {
      *t = (double)c->ncols * hw->t_digital_ns;
      *e = (double)c->ncols * hw->e_digital_pj;
    }
    break;
  default:
    break;
  }
}

int map_stats_compute(map_stats *st, const map_mapping *mp, const map_model *mm, const map_hw *hw,
                      const map_stream *cs_in) {
  memset(st, 0, sizeof *st);
  map_stream own;
  const map_stream *cs = cs_in;
  if (!cs) {
    if (map_schedule(&own, mp, mm, hw)) return -1;
    cs = &own;
  }
  st->arrays = mp->narrays;
  st->adcs = mp->narrays * map_hw_adcs_per_array(hw);
  st->cells_avail = (long long)mp->narrays * mp->rows * mp->cols;
  for (int i = 0; i < mp->npieces; i++) {
    st->cells_used += (long long)mp->piece[i].ni * mp->piece[i].no;
    if (mp->piece[i].ni > st->max_active_rows) st->max_active_rows = mp->piece[i].ni;
  }
  st->utilization = st->cells_avail ? (double)st->cells_used / (double)st->cells_avail : 0;
  st->adc_bits_lossless = map_hw_lossless_adc_bits(hw, st->max_active_rows);
  for (int l = 0; l < mm->nlayers; l++) {
    const map_layer *L = &mm->layer[l];
    long long dense = (long long)L->out * L->in;
    long long model =
        L->is_monarch ? (long long)L->k * L->q * L->p + (long long)L->l * L->s * L->r : dense;
    st->dense_params += dense, st->model_params += model;
    st->dense_flops += 2 * dense, st->model_flops += 2 * model;
  }
  /* critical path over the per-token part (ids are topologically ordered) */
  int n = cs->ncmds;
  double *fin = calloc((size_t)(n ? n : 1), sizeof *fin);
  long long *mv = calloc((size_t)(n ? n : 1), sizeof *mv);
  if (!fin || !mv) {
    free(fin), free(mv);
    if (!cs_in) map_stream_destroy(&own);
    return mon_fail("stats: out of memory");
  }
  int sl = map_hw_slices(hw), steps = map_hw_dac_steps(hw);
  for (int i = cs->nprogram; i < n; i++) {
    const map_cmd *c = &cs->cmd[i];
    double t, e, start = 0;
    long long m0 = 0;
    cmd_cost(c, hw, &t, &e);
    for (int k = 0; k < c->ndeps; k++) {
      int32_t d = cs->dep[c->dep0 + k];
      if (fin[d] > start) start = fin[d];
      if (mv[d] > m0) m0 = mv[d];
    }
    fin[i] = start + t;
    mv[i] = m0 + (c->op == MAP_OP_CONVERT);
    if (fin[i] > st->est_latency_ns) st->est_latency_ns = fin[i];
    if (mv[i] > st->crit_mvms) st->crit_mvms = mv[i];
    st->est_energy_pj += e;
    if (c->op == MAP_OP_CONVERT)
      st->conversions += (long long)c->ncols * map_hw_conv_lines(hw) * steps;
  }
  st->mvms = cs->nmvm;
  st->est_area_mm2 =
      mp->narrays * (sl * hw->a_array_mm2 + hw->rows * hw->a_dac_mm2 + hw->a_digital_mm2) +
      st->adcs * hw->a_adc_mm2;
  free(fin);
  free(mv);
  if (!cs_in) map_stream_destroy(&own);
  return 0;
}
