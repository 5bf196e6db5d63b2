/* Placement: buffer regions, factors and the four strategies (Linear, SparseMap, DenseMap, Auto).
 */
#include "mapping.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- pieces */

static int push_piece(map_mapping *mp, int *cap, map_piece pc) {
  if (mp->npieces == *cap) {
    int nc = *cap ? 2 * *cap : 256;
    map_piece *p = realloc(mp->piece, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("mapping: out of memory for pieces");
    mp->piece = p;
    *cap = nc;
  }
  mp->piece[mp->npieces++] = pc;
  return 0;
}

/* The tiles of a factor in placement order (block, input tile, output tile); array unset. */
typedef struct {
  int n;
  map_piece *p;
} tile_list;

static int factor_tiles(const map_mapping *mp, int f, tile_list *tl) {
  const map_factor *F = &mp->factor[f];
  int to = (F->bo + mp->cols - 1) / mp->cols;
  tl->n = F->nb * F->ti * to;
  tl->p = malloc((size_t)tl->n * sizeof *tl->p);
  if (!tl->p) return mon_fail("mapping: out of memory");
  int n = 0;
  for (int b = 0; b < F->nb; b++)
    for (int it = 0; it < F->ti; it++)
      for (int ot = 0; ot < to; ot++) {
        int i0 = it * F->th, o0 = ot * mp->cols;
        tl->p[n++] = (map_piece){.factor = f,
                                 .block = b,
                                 .i0 = i0,
                                 .ni = F->bi - i0 < F->th ? F->bi - i0 : F->th,
                                 .o0 = o0,
                                 .no = F->bo - o0 < mp->cols ? F->bo - o0 : mp->cols,
                                 .array = -1};
      }
  return 0;
}

/* ---------------------------------------------------------------- Linear */

/* Every tile on its own array: ceil(out/m) x ceil(in/m) arrays for a dense matrix. */
static int place_linear(map_mapping *mp, const int *fs, int nf, const map_hw *hw) {
  (void)hw;
  int cap = mp->npieces;
  for (int i = 0; i < nf; i++) {
    tile_list tl;
    if (factor_tiles(mp, fs[i], &tl)) return -1;
    for (int j = 0; j < tl.n; j++) {
      map_piece pc = tl.p[j];
      pc.array = mp->narrays++;
      if (push_piece(mp, &cap, pc)) return free(tl.p), -1;
    }
    free(tl.p);
  }
  return 0;
}

/* ---------------------------------------------------------------- SparseMap */

/* Tiles of one factor down the array diagonal (row and column cursors advance together); all rows
 * of an array are driven in one MVM, each column sums only its own tile's rows. */
static int place_sparse(map_mapping *mp, const int *fs, int nf, const map_hw *hw) {
  (void)hw;
  int cap = mp->npieces;
  for (int i = 0; i < nf; i++) {
    tile_list tl;
    if (factor_tiles(mp, fs[i], &tl)) return -1;
    int a = -1, r = 0, c = 0;
    for (int j = 0; j < tl.n; j++) {
      map_piece pc = tl.p[j];
      if (a < 0 || r + pc.ni > mp->rows || c + pc.no > mp->cols) a = mp->narrays++, r = c = 0;
      pc.array = a, pc.row0 = r, pc.col0 = c, pc.step = 0;
      r += pc.ni, c += pc.no;
      if (push_piece(mp, &cap, pc)) return free(tl.p), -1;
    }
    free(tl.p);
  }
  return 0;
}

/* ---------------------------------------------------------------- DenseMap */

/* Tiles of all given factors (several factors and layers) share arrays, pooled by tile shape.
 *
 * Uniform pools (h | rows, w | cols) have S = (rows/h) x (cols/w) slots per array and need
 * A = ceil(tiles / S) arrays, the capacity minimum. Slot k of an array is rotated block-diagonal
 * d = k / gr, row band i = k % gr, column slot (i + d) % gc: the rotation is undone by the
 * scheduler's output addresses (block index, never column position). Which tile takes which slot
 * is the layout: INTERLEAVED puts tile j of the pool on array j % A, slot j / A, so the blocks of
 * one factor (consecutive tiles) sit on distinct arrays and run in parallel, each array holding
 * blocks of many layers; CONTIGUOUS fills array j / S, slot j % S, so a factor's blocks queue on
 * one array. Both give the same arrays, cells and utilization.
 *
 * Other shapes are shelf-packed (either layout): bands of height h filled left to right, a tile
 * that does not fit is split at the band's end and continues in the next band.
 *
 * One MVM drives one tile's rows (or several tiles sharing the same input rows) and reads only
 * their columns, so a column sums <= h rows. */
/* Shelf cursor of one array: the band being filled and its column cursor. */
typedef struct {
  int array;                             /* -1: none yet */
  int band_row, col;                     /* current band and column cursor */
  int step;                              /* next MVM index on the array */
  int last_f, last_b, last_i0, last_row; /* tile run that may share an MVM */
} shelf;

typedef struct {
  int h, w;
  int uniform;
  int ntiles, next;   /* tiles in the pool, units (uniform) or tiles (shelf) placed so far */
  int base, narr;     /* first array and arrays of the pool (the capacity minimum) */
  shelf *cur;         /* shelf pools: one cursor per array (interleaved) or one (contiguous) */
  unsigned char *occ; /* uniform pools: (narr, slots) slot taken */
  int *nstep;         /* uniform pools: MVMs on each array so far */
  int fill;           /* uniform, contiguous: the array being filled */
} pool;

static pool *find_pool(pool *pools, int npools, int h, int w) {
  for (int k = 0; k < npools; k++)
    if (pools[k].h == h && pools[k].w == w) return &pools[k];
  return NULL;
}

/* Places a unit of g tiles that read the same input rows (g = 1: one tile) on a uniform pool:
 * all g in one row band of one array, in distinct column slots, with one MVM step. The unit
 * starts at array next mod A (interleaved) or at the array being filled (contiguous) and takes
 * the first slots free in slot order, so without shared units tile j lands on array j mod A,
 * slot j / A (resp. array j / S, slot j mod S). Returns 1 if no array of the pool has g free
 * slots in one band (then the caller places the tiles one by one). */
static int place_unit(map_mapping *mp, int *cap, pool *P, map_piece *pcs, int g, int *rc) {
  int gr = mp->rows / P->h, gc = mp->cols / P->w, S = gr * gc;
  int contiguous = mp->dense_layout == MAP_DENSE_CONTIGUOUS;
  int t = contiguous ? P->fill : P->next % P->narr;
  for (int a = 0; a < P->narr; a++) {
    int arr = contiguous ? t + a : (t + a) % P->narr;
    if (arr >= P->narr) break;
    unsigned char *occ = P->occ + (size_t)arr * S;
    int band = -1;
    for (int k = 0; k < S && band < 0; k++) {
      if (occ[k]) continue;
      int nfree = 0;
      for (int d = 0; d < gc; d++) nfree += !occ[k % gr + d * gr];
      if (nfree >= g) band = k % gr;
    }
    if (band < 0) continue;
    int step = P->nstep[arr]++;
    for (int m = 0, d = 0; m < g; d++) {
      int k = band + d * gr;
      if (occ[k]) continue;
      occ[k] = 1;
      map_piece pc = pcs[m++];
      pc.array = P->base + arr;
      pc.row0 = band * P->h;
      pc.col0 = ((band + d) % gc) * P->w;
      pc.group = d; /* rotated block-diagonal: column slot - row band (mod gc) */
      pc.step = step;
      if ((*rc = push_piece(mp, cap, pc))) return 0;
    }
    if (g > 1) mp->shared_mvms++;
    P->next++;
    while (contiguous && P->fill < P->narr - 1 && !memchr(P->occ + (size_t)P->fill * S, 0, S))
      P->fill++;
    return 0;
  }
  return 1;
}

/* Puts as many of columns done.. of tile pc as fit on cursor C's array (bands of height h, a
 * tile split at a band's end continues in the next band); returns the new `done`. */
static int shelf_put(map_mapping *mp, int *cap, shelf *C, int h, const map_piece *pc, int done,
                     int *rc) {
  while (done < pc->no && !*rc) {
    if (C->col == mp->cols) {
      if (C->band_row + 2 * h > mp->rows) break; /* array full */
      C->band_row += h;
      C->col = 0;
      C->last_f = -1;
    }
    int take = pc->no - done < mp->cols - C->col ? pc->no - done : mp->cols - C->col;
    map_piece q = *pc;
    q.o0 = pc->o0 + done, q.no = take;
    q.array = C->array, q.row0 = C->band_row, q.col0 = C->col;
    q.group = C->band_row / h;
    /* same input rows as the previous tile of this band: one MVM computes both */
    if (C->last_f == q.factor && C->last_b == q.block && C->last_i0 == q.i0 &&
        C->last_row == q.row0)
      q.step = C->step - 1;
    else
      q.step = C->step++;
    C->last_f = q.factor, C->last_b = q.block, C->last_i0 = q.i0, C->last_row = q.row0;
    C->col += take;
    done += take;
    *rc = push_piece(mp, cap, q);
  }
  return done;
}

/* Shelf pools: the same capacity minimum in both layouts (tiles split at band ends pack the
 * bands completely); interleaved starts tile j on array j mod A and spills to the next array
 * with room. */
static int place_shelf(map_mapping *mp, int *cap, pool *P, const map_piece *pc) {
  int j = P->next++, rc = 0, done = 0;
  int ncur = mp->dense_layout == MAP_DENSE_CONTIGUOUS ? 1 : P->narr;
  for (int k = 0; k < ncur && done < pc->no && !rc; k++) {
    shelf *C = &P->cur[ncur == 1 ? 0 : (j + k) % ncur];
    if (ncur == 1) { /* contiguous: open the pool's arrays one after the other */
      while (done < pc->no && !rc) {
        done = shelf_put(mp, cap, C, P->h, pc, done, &rc);
        if (done < pc->no) {
          if (C->array + 1 >= P->base + P->narr)
            return mon_fail("mapping: DenseMap shelf pool %dx%d overflows its %d arrays", P->h,
                            P->w, P->narr);
          *C = (shelf){.array = C->array + 1, .last_f = -1};
        }
      }
    } else {
      done = shelf_put(mp, cap, C, P->h, pc, done, &rc);
    }
  }
  if (!rc && done < pc->no)
    rc =
        mon_fail("mapping: DenseMap shelf pool %dx%d overflows its %d arrays", P->h, P->w, P->narr);
  return rc;
}

static int place_dense(map_mapping *mp, const int *fs, int nf, const map_hw *hw) {
  (void)hw;
  int cap = mp->npieces, npools = 0, pcap = 0, rc = 0;
  pool *pools = NULL;
  tile_list *tl = calloc((size_t)(nf ? nf : 1), sizeof *tl);
  if (!tl) return mon_fail("mapping: out of memory");
  /* pass 1: the pools and their tile counts */
  for (int i = 0; i < nf && !rc; i++) {
    if (factor_tiles(mp, fs[i], &tl[i])) {
      rc = -1;
      break;
    }
    for (int j = 0; j < tl[i].n && !rc; j++) {
      const map_piece *pc = &tl[i].p[j];
      pool *P = find_pool(pools, npools, pc->ni, pc->no);
      if (!P) {
        if (npools == pcap) {
          pcap = pcap ? 2 * pcap : 8;
          pool *np = realloc(pools, (size_t)pcap * sizeof *np);
          if (!np) {
            rc = mon_fail("mapping: out of memory");
            break;
          }
          pools = np;
        }
        P = &pools[npools++];
        *P = (pool){.h = pc->ni, .w = pc->no};
        P->uniform = mp->rows % pc->ni == 0 && mp->cols % pc->no == 0;
      }
      P->ntiles++;
    }
  }
  /* every pool's arrays, in order of first appearance: the capacity minimum */
  for (int k = 0; k < npools && !rc; k++) {
    pool *P = &pools[k];
    P->base = mp->narrays;
    if (P->uniform) {
      int S = (mp->rows / P->h) * (mp->cols / P->w);
      P->narr = (P->ntiles + S - 1) / S;
      P->occ = calloc((size_t)P->narr * S, 1);
      P->nstep = calloc((size_t)P->narr, sizeof *P->nstep);
      if (!P->occ || !P->nstep) {
        rc = mon_fail("mapping: out of memory");
        break;
      }
    } else {
      long per = (long)(mp->rows / P->h) * mp->cols; /* tile columns an array holds */
      P->narr = (int)(((long)P->ntiles * P->w + per - 1) / per);
      int ncur = mp->dense_layout == MAP_DENSE_CONTIGUOUS ? 1 : P->narr;
      P->cur = malloc((size_t)ncur * sizeof *P->cur);
      if (!P->cur) {
        rc = mon_fail("mapping: out of memory");
        break;
      }
      for (int a = 0; a < ncur; a++) P->cur[a] = (shelf){.array = P->base + a, .last_f = -1};
    }
    mp->narrays += P->narr;
  }
  /* first factors of layers that read one input region (map_layer_map.x_from): the leader's
   * tile j and each follower's tile j read the same input rows */
  int *lead = malloc((size_t)(nf ? nf : 1) * sizeof *lead);
  if (!lead && !rc) rc = mon_fail("mapping: out of memory");
  for (int i = 0; i < nf && !rc; i++) {
    const map_factor *F = &mp->factor[fs[i]];
    const map_layer_map *lm = &mp->lmap[F->layer];
    lead[i] = -1;
    if (lm->x_from < 0 || fs[i] != lm->factor0) continue;
    for (int k = 0; k < i; k++)
      if (fs[k] == mp->lmap[lm->x_from].factor0 && tl[k].n == tl[i].n) lead[i] = k;
  }
  /* pass 2: slots */
  map_piece unit[1 + 2 * MAP_MAX_PRED];
  for (int i = 0; i < nf && !rc; i++)
    for (int j = 0; j < tl[i].n && !rc; j++) {
      map_piece pc = tl[i].p[j];
      pool *P = find_pool(pools, npools, pc.ni, pc.no);
      if (!P->uniform) {
        rc = place_shelf(mp, &cap, P, &pc);
        continue;
      }
      if (lead[i] >= 0) continue; /* placed with its leader's tile */
      int g = 0;
      unit[g++] = pc;
      for (int k = i + 1; k < nf; k++)
        if (lead[k] == i && g < (int)(sizeof unit / sizeof unit[0])) unit[g++] = tl[k].p[j];
      if (g > mp->cols / P->w || place_unit(mp, &cap, P, unit, g, &rc))
        for (int m = 0; m < g && !rc; m++)
          if (place_unit(mp, &cap, P, &unit[m], 1, &rc) && !rc)
            rc = mon_fail("mapping: DenseMap pool %dx%d overflows its %d arrays", P->h, P->w,
                          P->narr);
    }
  free(lead);
  for (int i = 0; i < nf; i++) free(tl[i].p);
  free(tl);
  for (int k = 0; k < npools; k++) free(pools[k].cur), free(pools[k].occ), free(pools[k].nstep);
  free(pools);
  return rc;
}

const char *map_dense_layout_name(map_dense_layout d) {
  return d == MAP_DENSE_CONTIGUOUS    ? "contiguous"
         : d == MAP_DENSE_INTERLEAVED ? "interleaved"
                                      : "?";
}

/* ---------------------------------------------------------------- table */

static int place_auto_unused(map_mapping *mp, const int *fs, int nf, const map_hw *hw) {
  (void)mp, (void)fs, (void)nf, (void)hw;
  return mon_fail("mapping: Auto chooses per layer in map_build; it has no placement of its own");
}

const map_strategy map_strategies[MAP_NSTRATEGIES] = {
    [MAP_LINEAR] = {.name = "linear",
                    .id = MAP_LINEAR,
                    .place = place_linear,
                    .summary = "dense matrix tiled on ceil(out/m) x ceil(in/m) arrays"},
    [MAP_SPARSE] = {.name = "sparse",
                    .id = MAP_SPARSE,
                    .place = place_sparse,
                    .summary = "SparseMap: blocks on array diagonals, one MVM per array"},
    [MAP_DENSE] = {.name = "dense",
                   .id = MAP_DENSE,
                   .place = place_dense,
                   .summary = "DenseMap: all block slots filled, one block per MVM"},
    [MAP_AUTO] = {.name = "auto",
                  .id = MAP_AUTO,
                  .place = place_auto_unused,
                  .summary = "per layer the best of the above under an array/ADC budget"},
};

const map_strategy *map_strategy_find(const char *name) {
  for (int i = 0; i < MAP_NSTRATEGIES; i++)
    if (!strcmp(map_strategies[i].name, name)) return &map_strategies[i];
  if (!strcmp(name, "sparsemap")) return &map_strategies[MAP_SPARSE];
  if (!strcmp(name, "densemap")) return &map_strategies[MAP_DENSE];
  mon_fail("mapping '%s': unknown strategy (expected linear, sparse, dense or auto)", name);
  return NULL;
}

/* ---------------------------------------------------------------- build */

void map_mapping_destroy(map_mapping *mp) {
  if (!mp) return;
  free(mp->factor);
  free(mp->piece);
  free(mp->lmap);
  memset(mp, 0, sizeof *mp);
}

static int64_t alloc_buf(map_mapping *mp, int64_t n) {
  int64_t a = mp->buf_len;
  mp->buf_len += n;
  return a;
}

static void add_factor(map_mapping *mp, int layer, map_factor_kind which, map_strategy_id st,
                       int nb, int bo, int bi, int64_t in, int64_t out) {
  map_factor *F = &mp->factor[mp->nfactors++];
  int th = mp->rows, k = mp->dense_row_split;
  if (st == MAP_DENSE && k > 1 && (bi + k - 1) / k < th) th = (bi + k - 1) / k;
  *F = (map_factor){.layer = layer,
                    .which = which,
                    .strategy = st,
                    .nb = nb,
                    .bo = bo,
                    .bi = bi,
                    .th = th,
                    .ti = (bi + th - 1) / th,
                    .in_addr = in,
                    .out_addr = out,
                    .part_addr = -1};
  if (F->ti > 1) F->part_addr = alloc_buf(mp, (int64_t)F->ti * nb * bo);
}

static int cmp_piece(const void *a, const void *b) {
  const map_piece *x = a, *y = b;
  if (x->array != y->array) return x->array < y->array ? -1 : 1;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  if (x->row0 != y->row0) return x->row0 < y->row0 ? -1 : 1;
  return x->col0 < y->col0 ? -1 : x->col0 > y->col0;
}

/* Places with a fixed per-layer strategy choice. */
static int build_with(map_mapping *mp, const map_model *mm, const map_hw *hw,
                      const map_strategy_id *choice, map_strategy_id requested,
                      const map_options *opt) {
  memset(mp, 0, sizeof *mp);
  mp->strategy = requested;
  mp->dense_layout = opt->dense_layout;
  mp->dense_row_split = opt->dense_row_split > 1 ? opt->dense_row_split : 1;
  mp->rows = hw->rows, mp->cols = hw->cols;
  mp->nlayers = mm->nlayers;
  mp->lmap = calloc((size_t)mm->nlayers, sizeof *mp->lmap);
  mp->factor = calloc(2 * (size_t)mm->nlayers, sizeof *mp->factor);
  if (!mp->lmap || !mp->factor) return map_mapping_destroy(mp), mon_fail("mapping: out of memory");
  for (int i = 0; i < mm->nlayers; i++) {
    const map_layer *L = &mm->layer[i];
    map_layer_map *lm = &mp->lmap[i];
    lm->strategy = choice[i];
    lm->t = lm->t2 = lm->u = -1;
    lm->factor0 = mp->nfactors;
    lm->x_from = -1;
    int j = L->same_input;
    if (opt->share_rows && j >= 0 && j < i && choice[i] == MAP_DENSE && choice[j] == MAP_DENSE &&
        L->is_monarch && mm->layer[j].is_monarch && L->in == mm->layer[j].in &&
        L->k == mm->layer[j].k && L->p == mm->layer[j].p && L->q == mm->layer[j].q)
      lm->x_from = mp->lmap[j].x_from >= 0 ? mp->lmap[j].x_from : j;
    if (!L->is_monarch || choice[i] == MAP_LINEAR) {
      lm->x = alloc_buf(mp, L->in);
      lm->y = alloc_buf(mp, L->out);
      add_factor(mp, i, MAP_F_DENSE, choice[i], 1, L->out, L->in, lm->x, lm->y);
    } else {
      lm->x = lm->x_from >= 0 ? mp->lmap[lm->x_from].x : alloc_buf(mp, (int64_t)L->k * L->p);
      lm->t = alloc_buf(mp, (int64_t)L->k * L->q);
      lm->t2 = alloc_buf(mp, (int64_t)L->k * L->q);
      lm->u = alloc_buf(mp, (int64_t)L->l * L->s);
      lm->y = alloc_buf(mp, (int64_t)L->l * L->s);
      add_factor(mp, i, MAP_F_W1, choice[i], L->k, L->q, L->p, lm->x, lm->t);
      add_factor(mp, i, MAP_F_W2, choice[i], L->l, L->s, L->r, lm->t2, lm->u);
    }
    lm->nfactors = mp->nfactors - lm->factor0;
  }
  int *ids = malloc((size_t)mp->nfactors * sizeof *ids);
  if (!ids) return map_mapping_destroy(mp), mon_fail("mapping: out of memory");
  for (int s = 0; s < MAP_AUTO; s++) {
    int n = 0;
    for (int f = 0; f < mp->nfactors; f++)
      if (mp->factor[f].strategy == (map_strategy_id)s) ids[n++] = f;
    if (n && map_strategies[s].place(mp, ids, n, hw)) {
      free(ids);
      map_mapping_destroy(mp);
      return -1;
    }
  }
  free(ids);
  qsort(mp->piece, (size_t)mp->npieces, sizeof *mp->piece, cmp_piece);
  return 0;
}

static double objective_of(const map_cost *c, map_objective obj) {
  return obj == MAP_OBJ_ENERGY ? c->energy_pj : c->latency_ns;
}

/* The one cost model's objective and the arrays of mm mapped with a per-layer choice. */
static int cost_with(const map_model *mm, const map_hw *hw, const map_strategy_id *choice,
                     const map_options *opt, double *obj, int *arrays) {
  map_mapping mp;
  map_stream cs;
  map_cost c;
  if (build_with(&mp, mm, hw, choice, MAP_AUTO, opt)) return -1;
  int rc = map_schedule(&cs, &mp, mm, hw);
  if (!rc) {
    rc = map_cost_compute(&c, NULL, &cs, &mp, mm, hw);
    map_stream_destroy(&cs);
  }
  *arrays = mp.narrays;
  map_mapping_destroy(&mp);
  if (!rc) *obj = objective_of(&c, opt->objective);
  return rc;
}

/* Per-layer cost of each strategy under the one cost model, mapping the layer alone. */
static int layer_costs(const map_model *mm, const map_hw *hw, int i, const map_options *opt,
                       int arrays[MAP_AUTO], double cost[MAP_AUTO]) {
  map_layer alone = mm->layer[i];
  alone.npred = 0; /* its inputs are not in the one-layer model */
  alone.same_input = -1;
  map_model one = *mm;
  one.layer = &alone;
  one.nlayers = 1;
  for (int s = 0; s < MAP_AUTO; s++) {
    map_strategy_id ch = (map_strategy_id)s;
    if (cost_with(&one, hw, &ch, opt, &cost[s], &arrays[s])) return -1;
  }
  return 0;
}

/* Auto: a greedy per-layer mix (per-layer costs, best gain per extra array within the budget),
 * then the mix and every pure strategy are costed whole by the one cost model and the best one
 * within the budget wins, so Auto is never worse than a pure strategy that fits. */
static int auto_choose(const map_model *mm, const map_hw *hw, const map_options *opt, int budget,
                       const char *budget_field, map_strategy_id *choice) {
  int n = mm->nlayers;
  int(*arr)[MAP_AUTO] = malloc((size_t)n * sizeof *arr);
  double(*cost)[MAP_AUTO] = malloc((size_t)n * sizeof *cost);
  map_strategy_id *cand = malloc((size_t)n * sizeof *cand);
  if (!arr || !cost || !cand)
    return free(arr), free(cost), free(cand), mon_fail("mapping: out of memory");
  int rc = 0;
  long total = 0;
  for (int i = 0; i < n && !rc; i++) {
    rc = layer_costs(mm, hw, i, opt, arr[i], cost[i]);
    int best = MAP_DENSE; /* fewest arrays, ties to the better objective */
    for (int s = 0; s < MAP_AUTO && !rc; s++)
      if (arr[i][s] < arr[i][best] || (arr[i][s] == arr[i][best] && cost[i][s] < cost[i][best]))
        best = s;
    choice[i] = (map_strategy_id)best;
    total += arr[i][best];
  }
  double best_obj = 0;
  int best_arrays = 0;
  if (!rc) {
    /* the pooled minimum may be smaller than the per-layer sum: check it exactly */
    rc = cost_with(mm, hw, choice, opt, &best_obj, &best_arrays);
    if (!rc && budget > 0 && best_arrays > budget)
      rc = mon_fail("%s = %d is too small: the smallest mapping (fewest arrays per layer, pooled) "
                    "needs %d arrays (%d ADCs)",
                    budget_field,
                    !strcmp(budget_field, "budget-adcs") ? budget * map_hw_adcs_per_array(hw)
                                                         : budget,
                    best_arrays, best_arrays * map_hw_adcs_per_array(hw));
  }
  /* greedy: the change with the best objective gain per extra array that stays in budget */
  for (int i = 0; i < n; i++) cand[i] = choice[i];
  while (!rc) {
    int bl = -1, bs = -1;
    double bestr = 0;
    for (int i = 0; i < n; i++)
      for (int s = 0; s < MAP_AUTO; s++) {
        double gain = cost[i][cand[i]] - cost[i][s];
        long extra = arr[i][s] - arr[i][cand[i]];
        if (gain <= 1e-9 * cost[i][cand[i]]) continue;
        if (budget > 0 && total + extra > budget) continue;
        double r = gain / (double)(extra > 1 ? extra : 1);
        if (r > bestr) bestr = r, bl = i, bs = s;
      }
    if (bl < 0) break;
    total += arr[bl][bs] - arr[bl][cand[bl]];
    cand[bl] = (map_strategy_id)bs;
  }
  /* candidates costed whole: the greedy mix, then each pure strategy */
  for (int k = -1; k < MAP_AUTO && !rc; k++) {
    if (k >= 0)
      for (int i = 0; i < n; i++) cand[i] = (map_strategy_id)k;
    double o;
    int a;
    rc = cost_with(mm, hw, cand, opt, &o, &a);
    if (!rc && (budget <= 0 || a <= budget) && o < best_obj * (1 - 1e-12)) {
      best_obj = o;
      for (int i = 0; i < n; i++) choice[i] = cand[i];
    }
  }
  free(arr);
  free(cost);
  free(cand);
  return rc;
}

int map_build(map_mapping *mp, const map_model *mm, const map_hw *hw, map_strategy_id st,
              const map_options *opt) {
  memset(mp, 0, sizeof *mp);
  if (map_hw_validate(hw, "hw")) return -1;
  if (!mm || mm->nlayers < 1) return mon_fail("mapping: model has no linear layers");
  if (st < 0 || st >= MAP_NSTRATEGIES) return mon_fail("mapping: strategy %d unknown", (int)st);
  map_options o = opt ? *opt : (map_options){0};
  if (o.budget_arrays < 0) return mon_fail("budget-arrays = %d: expected >= 0", o.budget_arrays);
  if (o.budget_adcs < 0) return mon_fail("budget-adcs = %d: expected >= 0", o.budget_adcs);
  if (o.dense_layout != MAP_DENSE_INTERLEAVED && o.dense_layout != MAP_DENSE_CONTIGUOUS)
    return mon_fail("dense-layout = %d: expected interleaved or contiguous", (int)o.dense_layout);
  if (o.dense_row_split < 0 || o.dense_row_split > hw->rows)
    return mon_fail("dense-row-split = %d: expected 0..%d (rows per array)", o.dense_row_split,
                    hw->rows);
  int budget = o.budget_arrays;
  const char *bfield = "budget-arrays";
  if (o.budget_adcs > 0) {
    int b2 = o.budget_adcs / map_hw_adcs_per_array(hw);
    if (b2 < 1)
      return mon_fail("budget-adcs = %d is too small: one array has %d ADCs", o.budget_adcs,
                      map_hw_adcs_per_array(hw));
    if (!budget || b2 < budget) budget = b2, bfield = "budget-adcs";
  }
  map_strategy_id *choice = calloc((size_t)mm->nlayers, sizeof *choice);
  if (!choice) return mon_fail("mapping: out of memory");
  int rc = 0;
  if (st == MAP_AUTO)
    rc = auto_choose(mm, hw, &o, budget, bfield, choice);
  else
    for (int i = 0; i < mm->nlayers; i++) choice[i] = st;
  if (!rc) rc = build_with(mp, mm, hw, choice, st, &o);
  free(choice);
  if (!rc && budget > 0 && mp->narrays > budget) {
    int need = mp->narrays;
    map_mapping_destroy(mp);
    rc = mon_fail("%s: strategy %s needs %d arrays (%d ADCs), over the budget of %d arrays", bfield,
                  map_strategies[st].name, need, need * map_hw_adcs_per_array(hw), budget);
  }
  return rc;
}
