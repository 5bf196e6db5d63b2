/* THE cost model: latency, energy and area of one token through a CIM command stream
 * (map_stream), from the hardware description (map_hw). Auto ranks mappings with it and every
 * report (moncim map, simulate, the sweeps) prints it. Equations and the source of every default
 * number: docs/cost-model.md; the numbers themselves live in map_hw_default /
 * configs/hw-default.json.
 *
 * Latency: a list schedule of the stream's dependency DAG in command-id order (ids are
 * topological). Resources: each array runs one MVM at a time (its DRIVEs and CONVERTs); an MVM
 * takes dac_steps x (t_read + c x t_adc), c = conversions of the busiest ADC over ALL columns the
 * MVM reads (ADC sharing serializes columns); DRIVE is inside t_read (0 extra time); shift-add is
 * pipelined behind the ADC (ISAAC's S+A units run at the ADC rate) and adds no time. Digital
 * commands (ACCUM, PERMUTE, DIGITAL) take ceil(elements / digital_lanes) x t_digital and are
 * limited by dependencies only (assumption: enough digital units; the scheduler's layer order
 * leaves at most a few in flight per layer). The critical path is traced back from the
 * last-finishing command through the predecessor that set each start (a dependency or the array's
 * previous MVM); with no idle gap on that path, latency = array (dac_steps x t_read per MVM on it)
 * + ADC (dac_steps x c x t_adc) + digital (its digital commands), exactly.
 */
#include "mapping.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Elements a digital command processes (time = elements x t_digital). */
static double dig_elems(const map_cmd *c) {
  switch (c->op) {
  case MAP_OP_ACCUM:
    return (double)c->ncols * (c->count > 1 ? c->count - 1 : 0);
  case MAP_OP_PERMUTE:
    return (double)c->nrows * c->ncols;
  case MAP_OP_SHIFT_ADD:
    return (double)c->ncols;
  case MAP_OP_DIGITAL:
    return c->sub == MAP_DIG_BARRIER ? 0 : (double)c->ncols;
  default:
    return 0;
  }
}

/* Arithmetic element ops of a digital command (energy e_digital each): adds of ACCUM and BIAS. */
static double alu_ops(const map_cmd *c) {
  if (c->op == MAP_OP_ACCUM) return (double)c->ncols * (c->count > 1 ? c->count - 1 : 0);
  if (c->op == MAP_OP_SHIFT_ADD) return (double)c->ncols;
  if (c->op == MAP_OP_DIGITAL && c->sub == MAP_DIG_BIAS) return (double)c->ncols;
  return 0;
}

/* Buffer words read + written by a command (energy e_buffer each). */
static double buf_words(const map_cmd *c) {
  switch (c->op) {
  case MAP_OP_DRIVE: /* inputs read once into the DAC registers, held over all DAC steps */
    return (double)c->nrows;
  case MAP_OP_CONVERT: /* outputs written after shift-add over steps and slices */
    return (double)c->ncols;
  case MAP_OP_ACCUM: /* count partial vectors read, one written */
    return (double)c->ncols * (c->count + 1);
  case MAP_OP_PERMUTE: /* read + write every element */
    return 2.0 * c->nrows * c->ncols;
  case MAP_OP_SHIFT_ADD:
    return 2.0 * c->ncols;
  case MAP_OP_DIGITAL:
    if (c->sub == MAP_DIG_ZERO) return (double)c->ncols;       /* write */
    if (c->sub == MAP_DIG_BIAS) return 3.0 * (double)c->ncols; /* read y, read b, write y */
    return 0;
  default:
    return 0;
  }
}

static int is_digital(const map_cmd *c) {
  return c->op == MAP_OP_ACCUM || c->op == MAP_OP_PERMUTE || c->op == MAP_OP_DIGITAL ||
         c->op == MAP_OP_SHIFT_ADD;
}

static void sum_parts(map_cost *c) {
  c->energy_pj = c->energy_dac_pj + c->energy_array_pj + c->energy_adc_pj + c->energy_shiftadd_pj +
                 c->energy_digital_pj + c->energy_buffer_pj;
  c->area_mm2 = c->area_array_mm2 + c->area_adc_mm2 + c->area_dac_mm2 + c->area_digital_mm2;
}

typedef struct {
  double *fin;        /* per command: finish time (ns) */
  double *start;      /* per command: start time (ns) */
  int32_t *pred;      /* per command: predecessor that set its start, -1 if it starts at 0 */
  int *mvm_conv;      /* per MVM: conversions on its busiest ADC per DAC step */
  int32_t *mvm_first; /* per MVM: id of its first CONVERT, -1 before seen */
  int32_t *mvm_last;  /* per MVM: id of its last CONVERT */
  double *mvm_fin;
  int32_t *mvm_pred;
  double *arr_free;  /* per array: time its last MVM finishes */
  int32_t *arr_last; /* per array: a CONVERT of its last MVM */
  int64_t *rowcells; /* per array: prefix sums over rows of programmed logical cells */
  double *lcells;    /* per layer: programmed logical cells */
  int *cnt;          /* per-ADC counters of one array */
} work;

static void work_free(work *w) {
  free(w->fin), free(w->start), free(w->pred), free(w->mvm_conv), free(w->mvm_first);
  free(w->mvm_last), free(w->mvm_fin), free(w->mvm_pred), free(w->arr_free), free(w->arr_last);
  free(w->rowcells), free(w->lcells), free(w->cnt);
}

static int check_inputs(const map_stream *cs, const map_mapping *mp, const map_model *mm,
                        const map_hw *hw) {
  if (map_hw_validate(hw, "cost: hw")) return -1;
  if (mp->rows != hw->rows || mp->cols != hw->cols)
    return mon_fail("cost: mapping is for %dx%d arrays, hw field 'rows'/'cols' says %dx%d",
                    mp->rows, mp->cols, hw->rows, hw->cols);
  if (mp->nlayers != mm->nlayers || cs->nlayers != mm->nlayers)
    return mon_fail("cost: model has %d layers, mapping %d, stream %d", mm->nlayers, mp->nlayers,
                    cs->nlayers);
  for (int32_t i = 0; i < cs->ncmds; i++) {
    const map_cmd *c = &cs->cmd[i];
    if (c->op < 0 || c->op >= MAP_NOPS)
      return mon_fail("cost: command %d: op %d unknown", i, c->op);
    if (c->layer < 0 || c->layer >= mm->nlayers)
      return mon_fail("cost: command %d: layer %d out of range [0, %d)", i, c->layer, mm->nlayers);
    if ((c->op == MAP_OP_DRIVE || c->op == MAP_OP_CONVERT || c->op == MAP_OP_PROGRAM) &&
        (c->array < 0 || c->array >= mp->narrays))
      return mon_fail("cost: command %d: array %d out of range [0, %d)", i, c->array, mp->narrays);
    if ((c->op == MAP_OP_DRIVE || c->op == MAP_OP_CONVERT) && (c->step < 0 || c->step >= cs->nmvm))
      return mon_fail("cost: command %d: step %d out of range [0, %d)", i, c->step, cs->nmvm);
    if ((c->op == MAP_OP_DRIVE && (c->row0 < 0 || c->nrows < 0 || c->row0 + c->nrows > hw->rows)) ||
        (c->op == MAP_OP_CONVERT && (c->col0 < 0 || c->ncols < 0 || c->col0 + c->ncols > hw->cols)))
      return mon_fail("cost: command %d (%s): rows/cols outside the %dx%d array", i,
                      map_op_name((map_op)c->op), hw->rows, hw->cols);
    if ((c->op == MAP_OP_PROGRAM) != (i < cs->nprogram))
      return mon_fail("cost: command %d: PROGRAM commands must form the prefix (nprogram %d)", i,
                      cs->nprogram);
    for (int k = 0; k < c->ndeps; k++) {
      int32_t d = cs->dep[c->dep0 + k];
      if (d < 0 || d >= i)
        return mon_fail("cost: command %d: dependency %d does not precede it", i, d);
    }
  }
  return 0;
}

int map_cost_compute(map_cost *total, map_cost *layer, const map_stream *cs, const map_mapping *mp,
                     const map_model *mm, const map_hw *hw) {
  memset(total, 0, sizeof *total);
  if (layer) memset(layer, 0, (size_t)mm->nlayers * sizeof *layer);
  if (check_inputs(cs, mp, mm, hw)) return -1;
  const int sl = map_hw_slices(hw), steps = map_hw_dac_steps(hw);
  const int nadc = map_hw_adcs_per_array(hw), R = hw->rows;
  /* the rows a column sums per conversion, hence the lossless ADC resolution, is the schedule's */
  int rows_conv = 0;
  for (int32_t i = cs->nprogram; i < cs->ncmds; i++)
    if (cs->cmd[i].op == MAP_OP_CONVERT && cs->cmd[i].count > rows_conv)
      rows_conv = cs->cmd[i].count;
  const int adc_bits =
      hw->adc_lossless && rows_conv > 0 ? map_hw_lossless_adc_bits(hw, rows_conv) : hw->adc_bits;
  const double e_adc = map_hw_adc_energy_pj(hw, adc_bits);
  const double a_adc = map_hw_adc_area_mm2(hw, adc_bits);
  const int32_t n = cs->ncmds;
  const int nm = cs->nmvm, na = mp->narrays, nl = mm->nlayers;
  work w = {0};
  size_t n1 = (size_t)(n ? n : 1), m1 = (size_t)(nm ? nm : 1), a1 = (size_t)(na ? na : 1);
  w.fin = calloc(n1, sizeof *w.fin);
  w.start = calloc(n1, sizeof *w.start);
  w.pred = malloc(n1 * sizeof *w.pred);
  w.mvm_conv = calloc(m1, sizeof *w.mvm_conv);
  w.mvm_first = malloc(m1 * sizeof *w.mvm_first);
  w.mvm_last = malloc(m1 * sizeof *w.mvm_last);
  w.mvm_fin = calloc(m1, sizeof *w.mvm_fin);
  w.mvm_pred = malloc(m1 * sizeof *w.mvm_pred);
  w.arr_free = calloc(a1, sizeof *w.arr_free);
  w.arr_last = malloc(a1 * sizeof *w.arr_last);
  w.rowcells = calloc(a1 * (size_t)(R + 1), sizeof *w.rowcells);
  w.lcells = calloc((size_t)(nl ? nl : 1), sizeof *w.lcells);
  w.cnt = calloc((size_t)(nadc ? nadc : 1), sizeof *w.cnt);
  if (!w.fin || !w.start || !w.pred || !w.mvm_conv || !w.mvm_first || !w.mvm_last || !w.mvm_fin ||
      !w.mvm_pred || !w.arr_free || !w.arr_last || !w.rowcells || !w.lcells || !w.cnt) {
    work_free(&w);
    return mon_fail("cost: out of memory");
  }
  for (int s = 0; s < nm; s++) w.mvm_first[s] = -1, w.mvm_pred[s] = -1;
  for (int a = 0; a < na; a++) w.arr_last[a] = -1;

  /* programmed logical cells per array row (array read energy) and per layer/array (area) */
  long long cells_used = 0;
  for (int i = 0; i < mp->npieces; i++) {
    const map_piece *p = &mp->piece[i];
    if (p->array < 0 || p->array >= na || p->row0 < 0 || p->row0 + p->ni > R) {
      work_free(&w);
      return mon_fail("cost: piece %d: array %d rows %d..%d outside the mapping", i, p->array,
                      p->row0, p->row0 + p->ni - 1);
    }
    int64_t *rc = w.rowcells + (size_t)p->array * (R + 1);
    for (int r = p->row0; r < p->row0 + p->ni; r++) rc[r + 1] += p->no;
    cells_used += (long long)p->ni * p->no;
    w.lcells[mp->factor[p->factor].layer] += (double)p->ni * p->no;
  }
  for (int a = 0; a < na; a++) {
    int64_t *rc = w.rowcells + (size_t)a * (R + 1);
    for (int r = 0; r < R; r++) rc[r + 1] += rc[r];
  }

  /* pass 1: per MVM, the CONVERT range and the busiest ADC's conversions per DAC step */
  int rc = 0;
  int32_t cur = -1;
  for (int32_t i = cs->nprogram; i < n && !rc; i++) {
    const map_cmd *c = &cs->cmd[i];
    if (c->op != MAP_OP_CONVERT) continue;
    int s = c->step;
    if (s != cur) {
      if (w.mvm_first[s] >= 0) {
        rc = mon_fail("cost: command %d: the CONVERTs of MVM %d are not contiguous", i, s);
        break;
      }
      memset(w.cnt, 0, (size_t)nadc * sizeof *w.cnt);
      w.mvm_first[s] = i;
      cur = s;
    }
    w.mvm_last[s] = i;
    map_hw_add_adc_conversions(hw, c->col0, c->ncols, w.cnt);
    for (int g = 0; g < nadc; g++)
      if (w.cnt[g] > w.mvm_conv[s]) w.mvm_conv[s] = w.cnt[g];
  }

  /* pass 2: list schedule and energy */
  double t_end = 0;
  int32_t end = -1;
  for (int32_t i = cs->nprogram; i < n && !rc; i++) {
    const map_cmd *c = &cs->cmd[i];
    map_cost *L = layer ? &layer[c->layer] : NULL;
    double start = 0, dur = 0;
    int32_t pred = -1;
    for (int k = 0; k < c->ndeps; k++) {
      int32_t d = cs->dep[c->dep0 + k];
      if (w.fin[d] > start) start = w.fin[d], pred = d;
    }
    double e_dac = 0, e_arr = 0, e_adcv = 0, e_sa = 0, e_dig = 0;
    double e_buf = buf_words(c) * hw->e_buffer_pj;
    long long conv = 0;
    if (c->op == MAP_OP_DRIVE) {
      const int64_t *rcl = w.rowcells + (size_t)c->array * (R + 1);
      double cells = (double)(rcl[c->row0 + c->nrows] - rcl[c->row0]);
      e_dac = (double)c->nrows * steps * hw->e_dac_pj;
      e_arr = cells * sl * steps * hw->e_cell_pj; /* every programmed cell on a driven row */
    } else if (c->op == MAP_OP_CONVERT) {
      int s = c->step, a = c->array;
      if (w.mvm_first[s] == i) { /* schedule the whole MVM at its first CONVERT */
        for (int32_t j = i; j <= w.mvm_last[s]; j++) {
          const map_cmd *q = &cs->cmd[j];
          if (q->op != MAP_OP_CONVERT) continue;
          for (int k = 0; k < q->ndeps; k++) {
            int32_t d = cs->dep[q->dep0 + k];
            if (d < i && w.fin[d] > start) start = w.fin[d], pred = d;
          }
        }
        if (w.arr_free[a] > start) start = w.arr_free[a], pred = w.arr_last[a];
        w.mvm_fin[s] = start + steps * (hw->t_read_ns + w.mvm_conv[s] * hw->t_adc_ns);
        w.mvm_pred[s] = pred;
        w.arr_free[a] = w.mvm_fin[s];
        w.arr_last[a] = i;
      }
      start = w.mvm_fin[s] - steps * (hw->t_read_ns + w.mvm_conv[s] * hw->t_adc_ns);
      dur = w.mvm_fin[s] - start;
      pred = w.mvm_pred[s];
      conv = map_hw_conversions(hw, c->ncols);
      e_adcv = (double)conv * e_adc;
      e_sa = (double)conv * hw->e_digital_pj; /* one shift-add per conversion */
    } else if (is_digital(c)) {
      dur = ceil(dig_elems(c) / hw->digital_lanes) * hw->t_digital_ns;
      e_dig = alu_ops(c) * hw->e_digital_pj;
    }
    w.start[i] = start;
    w.fin[i] = start + dur;
    w.pred[i] = pred;
    if (w.fin[i] > t_end || end < 0) t_end = w.fin[i], end = i;
    map_cost *tg[2] = {total, L};
    for (int k = 0; k < 2; k++) {
      map_cost *x = tg[k];
      if (!x) continue;
      x->energy_dac_pj += e_dac;
      x->energy_array_pj += e_arr;
      x->energy_adc_pj += e_adcv;
      x->energy_shiftadd_pj += e_sa;
      x->energy_digital_pj += e_dig;
      x->energy_buffer_pj += e_buf;
      x->conversions += conv;
    }
  }
  if (rc) {
    work_free(&w);
    return -1;
  }

  /* critical path: array / ADC / digital parts, per layer by the command's layer */
  for (int32_t i = end; i >= cs->nprogram;) {
    const map_cmd *c = &cs->cmd[i];
    map_cost *L = layer ? &layer[c->layer] : NULL;
    double ta = 0, tc = 0, td = 0;
    if (c->op == MAP_OP_CONVERT) {
      ta = steps * hw->t_read_ns;
      tc = steps * w.mvm_conv[c->step] * hw->t_adc_ns;
      i = w.mvm_pred[c->step];
    } else {
      td = w.fin[i] - w.start[i];
      i = w.pred[i];
    }
    total->latency_array_ns += ta, total->latency_adc_ns += tc, total->latency_digital_ns += td;
    if (L) L->latency_array_ns += ta, L->latency_adc_ns += tc, L->latency_digital_ns += td;
  }
  total->latency_ns = t_end;

  /* area per logical array: its crossbars, ADCs, row DACs and digital unit */
  const double a_xbar = sl * hw->a_array_mm2, a_adcs = nadc * a_adc, a_dacs = R * hw->a_dac_mm2;
  total->rows_per_conversion = rows_conv;
  total->adc_bits_costed = adc_bits;
  total->arrays = na;
  total->crossbars = (int64_t)na * sl;
  total->adcs = (int64_t)na * nadc;
  total->dacs = (int64_t)na * R;
  total->steps = (int64_t)nm * steps;
  total->area_array_mm2 = na * a_xbar;
  total->area_adc_mm2 = na * a_adcs;
  total->area_dac_mm2 = na * a_dacs;
  total->area_digital_mm2 = na * hw->a_digital_mm2;
  double avail = (double)na * R * hw->cols;
  total->utilization = avail > 0 ? (double)cells_used / avail : 0;
  sum_parts(total);

  if (layer) {
    /* latency: the layer's span on the schedule (first start to last finish of its commands);
     * area: each array's area shared by programmed cells; arrays: distinct arrays touched */
    double *lo = malloc((size_t)(nl ? nl : 1) * sizeof *lo);
    int *seen = malloc((size_t)(nl ? nl : 1) * sizeof *seen);
    double *acells = calloc(a1, sizeof *acells);
    if (!lo || !seen || !acells) {
      free(lo), free(seen), free(acells);
      work_free(&w);
      return mon_fail("cost: out of memory");
    }
    for (int l = 0; l < nl; l++) lo[l] = -1, seen[l] = -1;
    for (int32_t i = cs->nprogram; i < n; i++) {
      const map_cmd *c = &cs->cmd[i];
      map_cost *L = &layer[c->layer];
      if (lo[c->layer] < 0 || w.start[i] < lo[c->layer]) lo[c->layer] = w.start[i];
      if (w.fin[i] > L->latency_ns) L->latency_ns = w.fin[i];
      if (c->op == MAP_OP_CONVERT && w.mvm_first[c->step] == i) L->steps += steps;
    }
    for (int l = 0; l < nl; l++)
      if (lo[l] >= 0) layer[l].latency_ns -= lo[l];
    for (int i = 0; i < mp->npieces; i++)
      acells[mp->piece[i].array] += (double)mp->piece[i].ni * mp->piece[i].no;
    for (int i = 0; i < mp->npieces; i++) {
      const map_piece *p = &mp->piece[i];
      int l = mp->factor[p->factor].layer;
      double share = (double)p->ni * p->no / acells[p->array];
      map_cost *L = &layer[l];
      L->area_array_mm2 += share * a_xbar;
      L->area_adc_mm2 += share * a_adcs;
      L->area_dac_mm2 += share * a_dacs;
      L->area_digital_mm2 += share * hw->a_digital_mm2;
      if (seen[l] != p->array) { /* pieces are sorted by array */
        seen[l] = p->array;
        L->arrays++;
      }
    }
    for (int l = 0; l < nl; l++) {
      map_cost *L = &layer[l];
      L->crossbars = L->arrays * sl;
      L->adcs = L->arrays * nadc;
      L->dacs = L->arrays * R;
      double av = (double)L->arrays * R * hw->cols;
      L->utilization = av > 0 ? w.lcells[l] / av : 0;
      L->adc_bits_costed = adc_bits;
      sum_parts(L);
    }
    free(lo), free(seen), free(acells);
  }
  work_free(&w);
  return 0;
}

int map_cost_of(map_cost *total, const map_model *mm, const map_hw *hw, map_strategy_id st,
                const map_options *opt) {
  map_mapping mp;
  map_stream cs;
  if (map_build(&mp, mm, hw, st, opt)) return -1;
  int rc = map_schedule(&cs, &mp, mm, hw);
  if (!rc) {
    rc = map_cost_compute(total, NULL, &cs, &mp, mm, hw);
    map_stream_destroy(&cs);
  }
  map_mapping_destroy(&mp);
  return rc;
}
