/* Reference executor: ideal devices, infinite-resolution converters, float data. It trusts
 * nothing: every address is range-checked, every cell may be programmed once, every buffer element
 * written once (BIAS excepted) and read only after it was written, and a column may only sum
 * cells of a single piece. */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  float *g;     /* (rows, cols) programmed weights */
  int32_t *own; /* (rows, cols) piece index, -1 = never programmed */
  float *v;     /* (rows) drive of the current MVM */
  int32_t step; /* current MVM id */
  int nrng;     /* driven row ranges of the current MVM */
  int rng[64][2];
} xarray;

typedef struct {
  const map_stream *cs;
  const map_mapping *mp;
  const map_model *mm;
  float *buf;
  unsigned char *wr; /* buffer element written */
  xarray *arr;
  float **dense; /* per layer: materialised Monarch for MAP_F_DENSE factors */
  map_ref_info *info;
} exec;

static int bad(const map_cmd *c, int id, const char *what) {
  return mon_fail("stream command %d (%s, array %d, layer %d): %s", id, map_op_name(c->op),
                  c->array, c->layer, what);
}

static int check_range(const exec *X, const map_cmd *c, int id, int64_t a, int64_t n,
                       const char *name) {
  if (a < 0 || n < 0 || a + n > X->cs->buf_len) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s range [%lld, %lld) outside the buffer (%lld floats)", name,
             (long long)a, (long long)(a + n), (long long)X->cs->buf_len);
    return bad(c, id, msg);
  }
  return 0;
}

static int check_read(const exec *X, const map_cmd *c, int id, int64_t a, int64_t n) {
  if (check_range(X, c, id, a, n, "source")) return -1;
  for (int64_t i = 0; i < n; i++)
    if (!X->wr[a + i]) {
      char msg[120];
      snprintf(msg, sizeof msg, "reads buffer element %lld before any command wrote it",
               (long long)(a + i));
      return bad(c, id, msg);
    }
  return 0;
}

static int mark_write(exec *X, const map_cmd *c, int id, int64_t a, int64_t n) {
  if (check_range(X, c, id, a, n, "destination")) return -1;
  for (int64_t i = 0; i < n; i++) {
    if (X->wr[a + i]) {
      char msg[120];
      snprintf(msg, sizeof msg, "writes buffer element %lld a second time", (long long)(a + i));
      return bad(c, id, msg);
    }
    X->wr[a + i] = 1;
  }
  return 0;
}

/* W_block[o][i] of a factor. */
static float weight(exec *X, const map_factor *F, int b, int o, int i) {
  const map_layer *L = &X->mm->layer[F->layer];
  switch (F->which) {
  case MAP_F_W1:
    return L->mon->w1[((size_t)b * L->q + o) * L->p + i];
  case MAP_F_W2:
    return L->mon->w2[((size_t)b * L->s + o) * L->r + i];
  default:
    if (!L->is_monarch) return L->w[(size_t)o * L->in + i];
    return X->dense[F->layer][(size_t)o * L->in + i];
  }
}

static int do_program(exec *X, const map_cmd *c, int id) {
  const map_mapping *mp = X->mp;
  if (c->piece < 0 || c->piece >= mp->npieces) return bad(c, id, "piece index out of range");
  const map_piece *p = &mp->piece[c->piece];
  if (c->array != p->array || c->row0 != p->row0 || c->nrows != p->ni || c->col0 != p->col0 ||
      c->ncols != p->no)
    return bad(c, id, "cell range differs from the piece it programs");
  if (c->array < 0 || c->array >= mp->narrays || c->row0 < 0 || c->col0 < 0 ||
      c->row0 + c->nrows > mp->rows || c->col0 + c->ncols > mp->cols)
    return bad(c, id, "cells outside the array");
  const map_factor *F = &mp->factor[p->factor];
  const map_layer *L = &X->mm->layer[F->layer];
  if (p->block < 0 || p->block >= F->nb || p->i0 < 0 || p->i0 + p->ni > F->bi || p->o0 < 0 ||
      p->o0 + p->no > F->bo)
    return bad(c, id, "piece outside its block");
  if (F->which == MAP_F_DENSE && L->is_monarch && !X->dense[F->layer]) {
    X->dense[F->layer] = malloc((size_t)L->out * L->in * sizeof(float));
    if (!X->dense[F->layer]) return mon_fail("executor: out of memory");
    mon_monarch_to_dense(L->mon, X->dense[F->layer]);
  }
  xarray *A = &X->arr[c->array];
  if (!A->g) {
    size_t n = (size_t)mp->rows * mp->cols;
    A->g = calloc(n, sizeof *A->g);
    A->own = malloc(n * sizeof *A->own);
    A->v = calloc((size_t)mp->rows, sizeof *A->v);
    if (!A->g || !A->own || !A->v) return mon_fail("executor: out of memory");
    for (size_t i = 0; i < n; i++) A->own[i] = -1;
    A->step = -1;
  }
  for (int i = 0; i < p->ni; i++)
    for (int o = 0; o < p->no; o++) {
      size_t cell = (size_t)(p->row0 + i) * mp->cols + p->col0 + o;
      if (A->own[cell] >= 0) return bad(c, id, "programs a cell that is already programmed");
      A->own[cell] = c->piece;
      A->g[cell] = weight(X, F, p->block, p->o0 + o, p->i0 + i);
    }
  X->info->cells_programmed += (long long)p->ni * p->no;
  return 0;
}

static int do_drive(exec *X, const map_cmd *c, int id) {
  const map_mapping *mp = X->mp;
  if (c->array < 0 || c->array >= mp->narrays || !X->arr[c->array].g)
    return bad(c, id, "drives an array that holds no programmed cells");
  if (c->row0 < 0 || c->nrows < 1 || c->row0 + c->nrows > mp->rows)
    return bad(c, id, "rows outside the array");
  if (check_read(X, c, id, c->src, c->nrows)) return -1;
  xarray *A = &X->arr[c->array];
  if (A->step != c->step) A->step = c->step, A->nrng = 0;
  for (int k = 0; k < A->nrng; k++)
    if (c->row0 < A->rng[k][1] && A->rng[k][0] < c->row0 + c->nrows)
      return bad(c, id, "drives rows already driven in this MVM");
  if (A->nrng == 64) return bad(c, id, "more than 64 DRIVE commands in one MVM");
  A->rng[A->nrng][0] = c->row0, A->rng[A->nrng][1] = c->row0 + c->nrows;
  A->nrng++;
  for (int r = 0; r < c->nrows; r++) A->v[c->row0 + r] = X->buf[c->src + r];
  return 0;
}

static int do_convert(exec *X, const map_cmd *c, int id) {
  const map_mapping *mp = X->mp;
  if (c->array < 0 || c->array >= mp->narrays || !X->arr[c->array].g)
    return bad(c, id, "converts on an array that holds no programmed cells");
  if (c->col0 < 0 || c->ncols < 1 || c->col0 + c->ncols > mp->cols)
    return bad(c, id, "columns outside the array");
  xarray *A = &X->arr[c->array];
  if (A->step != c->step) return bad(c, id, "no DRIVE of this MVM preceded the CONVERT");
  if (c->stride < 0) return bad(c, id, "negative output stride");
  const int64_t ds = c->stride > 1 ? c->stride : 1;
  for (int j = 0; j < c->ncols; j++)
    if (mark_write(X, c, id, c->dst + j * ds, 1)) return -1;
  for (int j = 0; j < c->ncols; j++) {
    int col = c->col0 + j, owner = -1, active = 0;
    double acc = 0;
    for (int k = 0; k < A->nrng; k++)
      for (int r = A->rng[k][0]; r < A->rng[k][1]; r++) {
        size_t cell = (size_t)r * mp->cols + col;
        if (A->own[cell] < 0) continue;
        if (owner >= 0 && A->own[cell] != owner)
          return bad(c, id, "a read column sums driven cells of two different pieces");
        owner = A->own[cell];
        active++;
        acc += (double)A->g[cell] * A->v[r];
      }
    if (active > X->info->max_active_rows) X->info->max_active_rows = active;
    if (active > c->count) return bad(c, id, "a column sums more rows than the command declares");
    X->info->macs += active;
    X->buf[c->dst + j * ds] = (float)acc;
  }
  return 0;
}

static int run(exec *X, const float *const *x, float *const *y) {
  const map_stream *cs = X->cs;
  for (int l = 0; l < cs->nlayers; l++) {
    const map_io *io = &cs->io[l];
    map_cmd fake = {.op = MAP_OP_DIGITAL, .layer = l, .array = -1};
    int k = 0; /* layers that read one input region (shared row bands) get the same vector */
    while (k < l && !(cs->io[k].x == io->x && cs->io[k].in == io->in)) k++;
    if (k < l) {
      if (memcmp(x[k], x[l], (size_t)io->in * sizeof(float)))
        return mon_fail("executor: layers %d and %d read one input region, but their input "
                        "vectors differ",
                        k, l);
      continue;
    }
    if (mark_write(X, &fake, -1, io->x, io->in)) return -1;
    memcpy(X->buf + io->x, x[l], (size_t)io->in * sizeof(float));
  }
  for (int id = 0; id < cs->ncmds; id++) {
    const map_cmd *c = &cs->cmd[id];
    for (int k = 0; k < c->ndeps; k++) {
      int64_t d = c->dep0 + k;
      if (d < 0 || d >= cs->ndeps || cs->dep[d] < 0 || cs->dep[d] >= id)
        return bad(c, id, "dependency that does not precede the command");
    }
    if ((id < cs->nprogram) != (c->op == MAP_OP_PROGRAM))
      return bad(c, id, "PROGRAM outside the programming prefix (or prefix not all PROGRAM)");
    int rc = 0;
    switch (c->op) {
    case MAP_OP_PROGRAM:
      rc = do_program(X, c, id);
      break;
    case MAP_OP_DRIVE:
      rc = do_drive(X, c, id);
      break;
    case MAP_OP_CONVERT:
      rc = do_convert(X, c, id);
      break;
    case MAP_OP_ACCUM:
      if (c->count < 1 || c->stride < c->ncols) return bad(c, id, "bad ACCUM count or stride");
      for (int t = 0; t < c->count && !rc; t++)
        rc = check_read(X, c, id, c->src + t * c->stride, c->ncols);
      if (!rc) rc = mark_write(X, c, id, c->dst, c->ncols);
      for (int j = 0; j < c->ncols && !rc; j++) {
        double s = 0;
        for (int t = 0; t < c->count; t++) s += X->buf[c->src + t * c->stride + j];
        X->buf[c->dst + j] = (float)s;
      }
      break;
    case MAP_OP_PERMUTE: {
      int64_t n = (int64_t)c->nrows * c->ncols;
      rc = check_read(X, c, id, c->src, n);
      if (!rc) rc = mark_write(X, c, id, c->dst, n);
      if (!rc && c->src < c->dst + n && c->dst < c->src + n)
        rc = bad(c, id, "PERMUTE source and destination overlap");
      for (int r = 0; r < c->nrows && !rc; r++)
        for (int q = 0; q < c->ncols; q++)
          X->buf[c->dst + (int64_t)q * c->nrows + r] = X->buf[c->src + (int64_t)r * c->ncols + q];
      break;
    }
    case MAP_OP_DIGITAL:
      if (c->sub == MAP_DIG_ZERO) {
        rc = mark_write(X, c, id, c->dst, c->ncols);
        for (int j = 0; j < c->ncols && !rc; j++) X->buf[c->dst + j] = 0;
      } else if (c->sub == MAP_DIG_BIAS) {
        const map_layer *L = &X->mm->layer[c->layer];
        if (!L->b) return bad(c, id, "BIAS on a layer without bias");
        rc = check_read(X, c, id, c->dst, c->ncols);
        for (int j = 0; j < c->ncols && !rc; j++) X->buf[c->dst + j] += L->b[j];
      } else if (c->sub != MAP_DIG_BARRIER) {
        rc = bad(c, id, "unknown DIGITAL sub-op");
      }
      break;
    default:
      rc = bad(c, id, "unknown opcode");
    }
    if (rc) return -1;
  }
  for (int l = 0; l < cs->nlayers; l++) {
    const map_io *io = &cs->io[l];
    map_cmd fake = {.op = MAP_OP_DIGITAL, .layer = l, .array = -1};
    if (check_read(X, &fake, -1, io->y, io->out)) return -1;
    memcpy(y[l], X->buf + io->y, (size_t)io->out * sizeof(float));
  }
  return 0;
}

int map_ref_run(const map_stream *cs, const map_mapping *mp, const map_model *mm,
                const float *const *x, float *const *y, map_ref_info *info) {
  map_ref_info tmp;
  if (!info) info = &tmp;
  memset(info, 0, sizeof *info);
  if (cs->nlayers != mm->nlayers || mp->nlayers != mm->nlayers)
    return mon_fail("executor: stream, mapping and model disagree on the number of layers");
  for (int l = 0; l < mm->nlayers; l++)
    if (mm->layer[l].is_monarch ? !mm->layer[l].mon : !mm->layer[l].w)
      return mon_fail("executor: layer '%s' has no weights (map_model_random_weights?)",
                      mm->layer[l].name);
  exec X = {.cs = cs, .mp = mp, .mm = mm, .info = info};
  X.buf = calloc((size_t)(cs->buf_len ? cs->buf_len : 1), sizeof *X.buf);
  X.wr = calloc((size_t)(cs->buf_len ? cs->buf_len : 1), 1);
  X.arr = calloc((size_t)(mp->narrays ? mp->narrays : 1), sizeof *X.arr);
  X.dense = calloc((size_t)mm->nlayers, sizeof *X.dense);
  int rc =
      (!X.buf || !X.wr || !X.arr || !X.dense) ? mon_fail("executor: out of memory") : run(&X, x, y);
  if (X.arr)
    for (int a = 0; a < mp->narrays; a++) free(X.arr[a].g), free(X.arr[a].own), free(X.arr[a].v);
  if (X.dense)
    for (int l = 0; l < mm->nlayers; l++) free(X.dense[l]);
  free(X.arr), free(X.dense), free(X.buf), free(X.wr);
  return rc;
}
