/* Scheduler: mapping -> CIM command stream of one token, with explicit dependencies. */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>

static const char *op_names[MAP_NOPS] = {"PROGRAM", "DRIVE",   "CONVERT", "SHIFT_ADD",
                                         "ACCUM",   "PERMUTE", "DIGITAL"};

const char *map_op_name(map_op op) {
  return (op >= 0 && op < MAP_NOPS) ? op_names[op] : "?";
}

typedef struct {
  map_stream *cs;
  int32_t ccap;
  int64_t dcap;
} emitter;

static int32_t emit(emitter *e, map_cmd c, const int32_t *deps, int ndeps) {
  map_stream *cs = e->cs;
  if (cs->ncmds == e->ccap) {
    int32_t nc = e->ccap ? 2 * e->ccap : 1024;
    map_cmd *p = realloc(cs->cmd, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("schedule: out of memory");
    cs->cmd = p;
    e->ccap = nc;
  }
  if (cs->ndeps + ndeps > e->dcap) {
    int64_t nc = e->dcap ? 2 * e->dcap : 4096;
    while (nc < cs->ndeps + ndeps) nc *= 2;
    int32_t *p = realloc(cs->dep, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("schedule: out of memory");
    cs->dep = p;
    e->dcap = nc;
  }
  c.dep0 = cs->ndeps;
  c.ndeps = ndeps;
  if (ndeps) memcpy(cs->dep + cs->ndeps, deps, (size_t)ndeps * sizeof *deps);
  cs->ndeps += ndeps;
  cs->cmd[cs->ncmds] = c;
  return cs->ncmds++;
}

static map_cmd blank(map_op op, int layer) {
  return (map_cmd){.op = op,
                   .array = -1,
                   .src = -1,
                   .dst = -1,
                   .layer = layer,
                   .factor = -1,
                   .piece = -1,
                   .step = -1};
}

/* growable list of command ids */
typedef struct {
  int32_t *v;
  int n, cap;
} idlist;

static int idl_push(idlist *l, int32_t id) {
  if (id < 0) return -1;
  if (l->n == l->cap) {
    int nc = l->cap ? 2 * l->cap : 16;
    int32_t *p = realloc(l->v, (size_t)nc * sizeof *p);
    if (!p) return mon_fail("schedule: out of memory");
    l->v = p;
    l->cap = nc;
  }
  l->v[l->n++] = id;
  return 0;
}

void map_stream_destroy(map_stream *cs) {
  if (!cs) return;
  free(cs->cmd);
  free(cs->dep);
  free(cs->io);
  memset(cs, 0, sizeof *cs);
}

static int64_t piece_src(const map_factor *F, const map_piece *p) {
  return F->in_addr + (int64_t)p->block * F->bi + p->i0;
}

static int64_t piece_dst(const map_factor *F, const map_piece *p) {
  int64_t off = (int64_t)p->block * F->bo + p->o0;
  if (F->ti == 1) return F->out_addr + off;
  return F->part_addr + (int64_t)(p->i0 / F->th) * F->nb * F->bo + off;
}

/* Where a factor's outputs go: contiguous from piece_dst, or (folded permutation) each output
 * straight to its place in the permuted vector. */
typedef struct {
  int fold;         /* 1: output i of the factor lands at base + (i % ncols) * nrows + i / ncols */
  int64_t base;     /* the permuted vector (the layer's t2) */
  int nrows, ncols; /* the PERMUTE it replaces: source grid (nrows x ncols) */
} out_map;

typedef struct {
  emitter e;
  const map_mapping *mp;
  const map_model *mm;
  const map_hw *hw;
  idlist *array_last;  /* per array: CONVERT ids of its latest MVM */
  idlist *pre;         /* per factor: CONVERTs already emitted in another factor's MVMs */
  unsigned char *done; /* per piece: converted by an emitted MVM */
  int32_t nmvm;
} sched;

/* Folding needs one writer per output: a Monarch's first factor with one input tile per block
 * (with partial sums, ACCUM writes contiguously and the PERMUTE stays). */
static out_map out_map_of(const sched *S, int f) {
  const map_factor *F = &S->mp->factor[f];
  const map_layer_map *lm = &S->mp->lmap[F->layer];
  const map_layer *L = &S->mm->layer[F->layer];
  out_map om = {.base = lm->t2, .nrows = L->r, .ncols = L->l};
  om.fold = lm->t >= 0 && f == lm->factor0 && S->hw->fold_permute && F->ti == 1;
  return om;
}

/* Buffer address of output column `o` (0..no-1) of piece p of factor F. */
static int64_t col_dst(const out_map *om, const map_factor *F, const map_piece *p, int o) {
  if (!om->fold) return piece_dst(F, p) + o;
  int64_t i = (int64_t)p->block * F->bo + p->o0 + o;
  return om->base + (i % om->ncols) * om->nrows + i / om->ncols;
}

/* One MVM: pieces P[lo..hi) (all of one array and step; factor f's and, in a shared row band,
 * blocks of other layers' first factors that read the same input rows). */
static int emit_mvm(sched *S, int f, int lo, int hi, const idlist *inputs, idlist *writers) {
  const map_mapping *mp = S->mp;
  const map_piece *P = mp->piece;
  int n = hi - lo, a = P[lo].array, layer = mp->factor[f].layer;
  int32_t mvm = S->nmvm++;
  idlist deps = {0}, drives = {0};
  int rc = 0;
  for (int i = 0; i < inputs->n && !rc; i++) rc = idl_push(&deps, inputs->v[i]);
  for (int i = 0; i < S->array_last[a].n && !rc; i++) rc = idl_push(&deps, S->array_last[a].v[i]);
  /* DRIVE: pieces are sorted by row0; merge contiguous rows with contiguous sources, skip
   * repeats of the same rows (several tiles sharing one input). */
  for (int i = lo; i < hi && !rc;) {
    const map_piece *p = &P[i];
    int r0 = p->row0, nr = p->ni;
    int64_t src = piece_src(&mp->factor[p->factor], p);
    int j = i + 1;
    for (; j < hi; j++) {
      const map_piece *q = &P[j];
      int64_t qs = piece_src(&mp->factor[q->factor], q);
      if (q->row0 >= r0 && q->row0 + q->ni <= r0 + nr && qs == src + (q->row0 - r0))
        continue; /* already driven */
      if (q->row0 == r0 + nr && qs == src + nr) {
        nr += q->ni;
        continue;
      }
      break;
    }
    map_cmd c = blank(MAP_OP_DRIVE, layer);
    c.array = a, c.row0 = r0, c.nrows = nr, c.src = src, c.factor = f, c.step = mvm;
    int32_t id = emit(&S->e, c, deps.v, deps.n);
    rc = idl_push(&drives, id);
    i = j;
  }
  S->array_last[a].n = 0;
  /* CONVERT: by column; merge contiguous columns with contiguous destinations */
  int *ord = malloc((size_t)n * sizeof *ord);
  if (!ord) rc = mon_fail("schedule: out of memory");
  for (int i = 0; i < n && !rc; i++) ord[i] = lo + i;
  for (int i = 1; i < n && !rc; i++) /* insertion sort by col0 (n is small) */
    for (int j = i; j > 0 && P[ord[j]].col0 < P[ord[j - 1]].col0; j--) {
      int t = ord[j];
      ord[j] = ord[j - 1], ord[j - 1] = t;
    }
  /* runs of adjacent columns of one factor whose outputs are equally spaced (1 apart, or nrows
   * apart when the permutation is folded); a run may span pieces */
  map_cmd c = blank(MAP_OP_CONVERT, layer);
  int open = 0;
  int64_t stride = 1;
  for (int i = 0; i <= n && !rc; i++) {
    const map_piece *p = i < n ? &P[ord[i]] : NULL;
    const map_factor *F = p ? &mp->factor[p->factor] : NULL;
    out_map om = p ? out_map_of(S, p->factor) : (out_map){0};
    for (int o = 0; o < (p ? p->no : 1) && !rc; o++) {
      int64_t d = p ? col_dst(&om, F, p, o) : -1;
      if (p && open && p->factor == c.factor && p->col0 + o == c.col0 + c.ncols &&
          d == c.dst + c.ncols * stride) {
        c.ncols++;
        if (p->row0 < c.row0) c.nrows += c.row0 - p->row0, c.row0 = p->row0;
        if (p->row0 + p->ni > c.row0 + c.nrows) c.nrows = p->row0 + p->ni - c.row0;
        if (p->ni > c.count) c.count = p->ni;
        continue;
      }
      if (open) {
        int32_t id = emit(&S->e, c, drives.v, drives.n);
        rc = idl_push(&S->array_last[a], id);
        if (!rc) rc = idl_push(c.factor == f ? writers : &S->pre[c.factor], id);
        open = 0;
      }
      if (!p) break;
      stride = om.fold ? om.nrows : 1;
      c = blank(MAP_OP_CONVERT, F->layer);
      c.array = a, c.row0 = p->row0, c.nrows = p->ni, c.col0 = p->col0 + o, c.ncols = 1;
      c.dst = d, c.stride = stride > 1 ? stride : 0;
      c.count = p->ni, c.factor = p->factor, c.piece = ord[i], c.step = mvm;
      open = 1;
    }
  }
  free(ord);
  free(deps.v);
  free(drives.v);
  return rc;
}

/* All MVMs of factor f not yet emitted (a shared row band emits its followers' blocks with the
 * leader's), then ACCUM when tiles split the input; `out` gets the writer ids. */
static int emit_factor(sched *S, int f, const int *pidx, int np, const idlist *inputs,
                       idlist *out) {
  const map_mapping *mp = S->mp;
  const map_factor *F = &mp->factor[f];
  const map_piece *P = mp->piece;
  idlist conv = {0};
  int rc = 0;
  for (int i = 0; i < S->pre[f].n && !rc; i++) rc = idl_push(&conv, S->pre[f].v[i]);
  for (int i = 0; i < np && !rc; i++) {
    if (S->done[pidx[i]]) continue;
    int lo = pidx[i], hi = pidx[i] + 1;
    while (lo > 0 && P[lo - 1].array == P[lo].array && P[lo - 1].step == P[lo].step) lo--;
    while (hi < mp->npieces && P[hi].array == P[lo].array && P[hi].step == P[lo].step) hi++;
    memset(S->done + lo, 1, (size_t)(hi - lo));
    rc = emit_mvm(S, f, lo, hi, inputs, &conv);
  }
  out->n = 0;
  if (!rc && F->ti > 1) {
    map_cmd c = blank(MAP_OP_ACCUM, F->layer);
    c.src = F->part_addr, c.dst = F->out_addr, c.ncols = F->nb * F->bo, c.count = F->ti;
    c.stride = (int64_t)F->nb * F->bo, c.factor = f;
    rc = idl_push(out, emit(&S->e, c, conv.v, conv.n));
  } else {
    for (int i = 0; i < conv.n && !rc; i++) rc = idl_push(out, conv.v[i]);
  }
  free(conv.v);
  return rc;
}

int map_schedule(map_stream *cs, const map_mapping *mp, const map_model *mm, const map_hw *hw) {
  memset(cs, 0, sizeof *cs);
  if (mp->nlayers != mm->nlayers)
    return mon_fail("schedule: mapping has %d layers, model %d", mp->nlayers, mm->nlayers);
  sched S = {.e = {.cs = cs}, .mp = mp, .mm = mm, .hw = hw};
  cs->buf_len = mp->buf_len;
  cs->nlayers = mm->nlayers;
  cs->io = calloc((size_t)mm->nlayers, sizeof *cs->io);
  S.array_last = calloc((size_t)(mp->narrays ? mp->narrays : 1), sizeof *S.array_last);
  S.pre = calloc((size_t)(mp->nfactors ? mp->nfactors : 1), sizeof *S.pre);
  S.done = calloc((size_t)(mp->npieces ? mp->npieces : 1), 1);
  int32_t *zero_id = malloc((size_t)mm->nlayers * sizeof *zero_id);
  /* pieces of each factor, in (array, step, row0) order */
  int *fstart = calloc((size_t)mp->nfactors + 1, sizeof *fstart);
  int *pidx = malloc((size_t)(mp->npieces ? mp->npieces : 1) * sizeof *pidx);
  int rc = 0;
  if (!cs->io || !S.array_last || !S.pre || !S.done || !zero_id || !fstart || !pidx)
    rc = mon_fail("schedule: out of memory");
  if (!rc) {
    for (int i = 0; i < mp->npieces; i++) fstart[mp->piece[i].factor + 1]++;
    for (int f = 0; f < mp->nfactors; f++) fstart[f + 1] += fstart[f];
    int *fill = calloc((size_t)mp->nfactors + 1, sizeof *fill);
    if (!fill) rc = mon_fail("schedule: out of memory");
    for (int i = 0; i < mp->npieces && !rc; i++) {
      int f = mp->piece[i].factor;
      pidx[fstart[f] + fill[f]++] = i;
    }
    free(fill);
  }
  /* the one-time programming prefix */
  for (int i = 0; i < mp->npieces && !rc; i++) {
    const map_piece *p = &mp->piece[i];
    map_cmd c = blank(MAP_OP_PROGRAM, mp->factor[p->factor].layer);
    c.array = p->array, c.row0 = p->row0, c.nrows = p->ni, c.col0 = p->col0, c.ncols = p->no;
    c.factor = p->factor, c.piece = i;
    if (emit(&S.e, c, NULL, 0) < 0) rc = -1;
  }
  cs->nprogram = cs->ncmds;
  idlist in = {0}, out = {0};
  for (int l = 0; l < mm->nlayers && !rc; l++) {
    const map_layer *L = &mm->layer[l];
    const map_layer_map *lm = &mp->lmap[l];
    map_io *io = &cs->io[l];
    io->x = lm->x, io->y = lm->y, io->in = L->in, io->out = L->out;
    int32_t after[MAP_MAX_PRED];
    int nafter = 0;
    for (int k = 0; k < L->npred; k++) {
      if (L->pred[k] < 0 || L->pred[k] >= l) {
        rc = mon_fail("schedule: layer '%s' reads layer %d: expected an earlier layer", L->name,
                      L->pred[k]);
        break;
      }
      after[nafter++] = cs->io[L->pred[k]].last;
    }
    if (rc) break;
    map_cmd c = blank(MAP_OP_DIGITAL, l);
    c.sub = MAP_DIG_BARRIER, c.dst = lm->x, c.ncols = L->in;
    io->first = emit(&S.e, c, after, nafter);
    in.n = 0;
    rc = idl_push(&in, io->first);
    int monarch = lm->t >= 0;
    zero_id[l] = -1;
    if (!rc && lm->x_from >= 0) { /* X is another layer's: ready when that layer zeroed it */
      rc = idl_push(&in, cs->io[lm->x_from].first);
      if (!rc && zero_id[lm->x_from] >= 0) rc = idl_push(&in, zero_id[lm->x_from]);
    } else if (!rc && monarch && L->k * L->p > L->in) {
      c = blank(MAP_OP_DIGITAL, l);
      c.sub = MAP_DIG_ZERO, c.dst = lm->x + L->in, c.ncols = L->k * L->p - L->in;
      zero_id[l] = emit(&S.e, c, &io->first, 1);
      rc = idl_push(&in, zero_id[l]);
    }
    for (int k = 0; k < lm->nfactors && !rc; k++) {
      int f = lm->factor0 + k;
      int fold = out_map_of(&S, f).fold;
      rc = emit_factor(&S, f, pidx + fstart[f], fstart[f + 1] - fstart[f], &in, &out);
      if (rc) break;
      if (monarch && !fold) { /* stage permutations as buffer transposes */
        c = blank(MAP_OP_PERMUTE, l);
        if (k == 0)
          c.src = lm->t, c.dst = lm->t2, c.nrows = L->r, c.ncols = L->l;
        else
          c.src = lm->u, c.dst = lm->y, c.nrows = L->l, c.ncols = L->s;
        int32_t id = emit(&S.e, c, out.v, out.n);
        out.n = 0;
        rc = idl_push(&out, id);
      }
      in.n = 0;
      for (int i = 0; i < out.n && !rc; i++) rc = idl_push(&in, out.v[i]);
    }
    if (!rc && L->b) {
      c = blank(MAP_OP_DIGITAL, l);
      c.sub = MAP_DIG_BIAS, c.dst = lm->y, c.ncols = L->out;
      int32_t id = emit(&S.e, c, in.v, in.n);
      in.n = 0;
      rc = idl_push(&in, id);
    }
    if (!rc && in.n > 1) { /* several writers complete Y: a barrier names one `last` */
      c = blank(MAP_OP_DIGITAL, l);
      c.sub = MAP_DIG_BARRIER, c.dst = lm->y, c.ncols = 0;
      int32_t id = emit(&S.e, c, in.v, in.n);
      in.n = 0;
      rc = idl_push(&in, id);
    }
    if (!rc) io->last = in.v[0];
  }
  cs->nmvm = S.nmvm;
  free(in.v);
  free(out.v);
  if (S.array_last)
    for (int a = 0; a < mp->narrays; a++) free(S.array_last[a].v);
  free(S.array_last);
  if (S.pre)
    for (int f = 0; f < mp->nfactors; f++) free(S.pre[f].v);
  free(S.pre);
  free(S.done);
  free(zero_id);
  free(fstart);
  free(pidx);
  if (rc) map_stream_destroy(cs);
  return rc;
}
