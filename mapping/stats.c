/* Structural statistics of a mapping and its stream (costs are cost.c's alone). */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>

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
  for (int i = 0; i < mp->npieces; i++)
    st->cells_used += (long long)mp->piece[i].ni * mp->piece[i].no;
  st->utilization = st->cells_avail ? (double)st->cells_used / (double)st->cells_avail : 0;
  for (int l = 0; l < mm->nlayers; l++) {
    const map_layer *L = &mm->layer[l];
    long long dense = (long long)L->out * L->in;
    long long model =
        L->is_monarch ? (long long)L->k * L->q * L->p + (long long)L->l * L->s * L->r : dense;
    st->dense_params += dense, st->model_params += model;
    st->dense_flops += 2 * dense, st->model_flops += 2 * model;
  }
  /* MVMs on the longest dependency chain of the per-token part (ids are topologically ordered) */
  int n = cs->ncmds;
  long long *mv = calloc((size_t)(n ? n : 1), sizeof *mv);
  if (!mv) {
    if (!cs_in) map_stream_destroy(&own);
    return mon_fail("stats: out of memory");
  }
  for (int i = cs->nprogram; i < n; i++) {
    const map_cmd *c = &cs->cmd[i];
    long long m0 = 0;
    for (int k = 0; k < c->ndeps; k++) {
      int32_t d = cs->dep[c->dep0 + k];
      if (mv[d] > m0) m0 = mv[d];
    }
    mv[i] = m0 + (c->op == MAP_OP_CONVERT);
    if (mv[i] > st->crit_mvms) st->crit_mvms = mv[i];
    if (c->op == MAP_OP_CONVERT) {
      st->conversions += map_hw_conversions(hw, c->ncols);
      if (c->count > st->max_active_rows) st->max_active_rows = c->count;
    }
    if (c->op == MAP_OP_PERMUTE) st->permutes++;
  }
  st->adc_bits_lossless = map_hw_lossless_adc_bits(hw, st->max_active_rows);
  st->mvms = cs->nmvm;
  free(mv);
  if (!cs_in) map_stream_destroy(&own);
  return 0;
}
