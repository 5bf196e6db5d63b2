/* IR drop: the crossbar as a resistive network (irdrop.h), solved exactly with CHOLMOD, by
 * decoupled row and column ladders (fast) or to first order in the resistances, and folded into
 * the runner's blocks.
 * Equations, defaults and their sources: docs/analog-model.md, "IR drop". */
#include "irdrop.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <suitesparse/cholmod.h>

/* ---------------------------------------------------------------- the nodal system */

/* Unknowns: the row-wire nodes, then the column-wire nodes. Without wire resistance a row (a
 * column) is one node; with no resistance at all between it and its source it is not an unknown
 * but fixed at the source voltage (row) or 0 V (column). */
typedef struct {
  cim_ir_net n;
  const double *G; /* (rows, cols) S */
  int wire;        /* r_wire > 0: one node per cell on each wire */
  int row_fixed, col_fixed;
  int nrn, ncn, nu; /* row nodes, column nodes, unknowns */
  double gtr, gtc;  /* terminal conductances (driver + first segment, last segment + sense), S */
  cholmod_common cc;
  cholmod_factor *L;
  int started;
} irsys;

static inline int rnode(const irsys *s, int i, int c) {
  return s->wire ? i * s->n.cols + c : i;
}
static inline int cnode(const irsys *s, int i, int c) {
  return s->wire ? i * s->n.cols + c : c;
}
static inline int ru(const irsys *s, int i, int c) { /* unknown of row node, -1 if fixed */
  return s->row_fixed ? -1 : rnode(s, i, c);
}
static inline int cu(const irsys *s, int i, int c) {
  return s->col_fixed ? -1 : (s->row_fixed ? 0 : s->nrn) + cnode(s, i, c);
}

typedef struct {
  int *i, *j;
  double *x;
  size_t n;
} trip;

static void stamp(trip *t, int a, int b, double g) {
  if (g == 0) return;
  if (a >= 0) t->i[t->n] = a, t->j[t->n] = a, t->x[t->n++] = g;
  if (b >= 0) t->i[t->n] = b, t->j[t->n] = b, t->x[t->n++] = g;
  if (a >= 0 && b >= 0) /* upper triangle: row index <= column index */
    t->i[t->n] = a < b ? a : b, t->j[t->n] = a < b ? b : a, t->x[t->n++] = -g;
}

static void sys_destroy(irsys *s) {
  if (!s->started) return;
  if (s->L) cholmod_free_factor(&s->L, &s->cc);
  cholmod_finish(&s->cc);
  s->started = 0;
}

static int sys_create(irsys *s, const cim_ir_net *n, const double *G) {
  memset(s, 0, sizeof *s);
  s->n = *n, s->G = G;
  int R = n->rows, C = n->cols;
  if (R < 1 || C < 1) return mon_fail("cimsim ir: crossbar %d x %d: expected >= 1 x 1", R, C);
  if (!(n->r_wire >= 0 && n->r_drv >= 0 && n->r_sns >= 0))
    return mon_fail("cimsim ir: r_wire = %g, r_drv = %g, r_sns = %g ohm: expected >= 0", n->r_wire,
                    n->r_drv, n->r_sns);
  s->wire = n->r_wire > 0;
  double r0 = n->r_drv + n->r_wire, r1 = n->r_sns + n->r_wire;
  s->row_fixed = r0 == 0, s->col_fixed = r1 == 0;
  s->gtr = r0 > 0 ? 1 / r0 : 0, s->gtc = r1 > 0 ? 1 / r1 : 0;
  s->nrn = s->wire ? R * C : R;
  s->ncn = s->wire ? R * C : C;
  s->nu = (s->row_fixed ? 0 : s->nrn) + (s->col_fixed ? 0 : s->ncn);
  if (!s->nu) return 0;
  cholmod_start(&s->cc);
  s->started = 1;
  s->cc.print = 0;
  s->cc.error_handler = NULL;
  size_t cap = 3 * ((size_t)3 * R * C + R + C) + 16;
  cholmod_triplet *T =
      cholmod_allocate_triplet((size_t)s->nu, (size_t)s->nu, cap, 1, CHOLMOD_REAL, &s->cc);
  if (!T) {
    sys_destroy(s);
    return mon_fail("cimsim ir: out of memory for a %d-node network", s->nu);
  }
  trip t = {T->i, T->j, T->x, 0};
  double gw = s->wire ? 1 / n->r_wire : 0;
  for (int i = 0; i < R; i++)
    for (int c = 0; c < C; c++) {
      stamp(&t, ru(s, i, c), cu(s, i, c), G[(size_t)i * C + c]);
      if (s->wire && c + 1 < C) stamp(&t, ru(s, i, c), ru(s, i, c + 1), gw);
      if (s->wire && i + 1 < R) stamp(&t, cu(s, i, c), cu(s, i + 1, c), gw);
    }
  for (int i = 0; i < R; i++) stamp(&t, ru(s, i, 0), -1, s->gtr);
  for (int c = 0; c < C; c++) stamp(&t, cu(s, R - 1, c), -1, s->gtc);
  T->nnz = t.n;
  cholmod_sparse *A = cholmod_triplet_to_sparse(T, t.n, &s->cc);
  cholmod_free_triplet(&T, &s->cc);
  if (A) s->L = cholmod_analyze(A, &s->cc);
  int ok = A && s->L && cholmod_factorize(A, s->L, &s->cc) && s->cc.status == CHOLMOD_OK &&
           s->L->minor == s->L->n;
  cholmod_free_sparse(&A, &s->cc);
  if (!ok) {
    int st = s->cc.status;
    sys_destroy(s);
    return mon_fail("cimsim ir: nodal matrix of a %d x %d crossbar not factorized (CHOLMOD status "
                    "%d): a row or column without a path to its source?",
                    R, C, st);
  }
  return 0;
}

/* Solves for k input vectors vin (k, rows): column currents icol (k, cols); node voltages vr, vc
 * (rows, cols) of the first vector when not NULL. */
static int sys_solve(irsys *s, int k, const double *vin, double *icol, double *vr, double *vc) {
  int R = s->n.rows, C = s->n.cols;
  const double *G = s->G;
  cholmod_dense *B = NULL, *X = NULL;
  if (s->nu) {
    B = cholmod_zeros((size_t)s->nu, (size_t)k, CHOLMOD_REAL, &s->cc);
    if (!B) return mon_fail("cimsim ir: out of memory");
    double *b = B->x;
    for (int v = 0; v < k; v++) {
      double *bv = b + (size_t)v * s->nu;
      const double *x = vin + (size_t)v * R;
      if (!s->row_fixed) {
        for (int i = 0; i < R; i++) bv[ru(s, i, 0)] += s->gtr * x[i];
      } else { /* rows at their source voltage: the cells inject into the column nodes */
        for (int i = 0; i < R; i++)
          for (int c = 0; c < C && x[i] != 0; c++) bv[cu(s, i, c)] += G[(size_t)i * C + c] * x[i];
      }
    }
    X = cholmod_solve(CHOLMOD_A, s->L, B, &s->cc);
    cholmod_free_dense(&B, &s->cc);
    if (!X) return mon_fail("cimsim ir: CHOLMOD solve failed (status %d)", s->cc.status);
  }
  const double *xs = X ? X->x : NULL;
  for (int v = 0; v < k; v++) {
    const double *x = xs ? xs + (size_t)v * s->nu : NULL;
    const double *in = vin + (size_t)v * R;
#define VR(i, c) (s->row_fixed ? in[i] : x[ru(s, i, c)])
#define VC(i, c) (s->col_fixed ? 0.0 : x[cu(s, i, c)])
    for (int c = 0; c < C; c++) {
      double cur = 0;
      if (!s->col_fixed)
        cur = s->gtc * VC(R - 1, c);
      else
        for (int i = 0; i < R; i++) cur += G[(size_t)i * C + c] * VR(i, c);
      icol[(size_t)v * C + c] = cur;
    }
    if (v == 0)
      for (int i = 0; i < R; i++)
        for (int c = 0; c < C; c++) {
          if (vr) vr[(size_t)i * C + c] = VR(i, c);
          if (vc) vc[(size_t)i * C + c] = VC(i, c);
        }
#undef VR
#undef VC
  }
  if (X) cholmod_free_dense(&X, &s->cc);
  return 0;
}

int cim_ir_solve(const cim_ir_net *n, const double *G, const double *vin, double *vr, double *vc,
                 double *icol) {
  irsys s;
  if (sys_create(&s, n, G)) return -1;
  int rc = sys_solve(&s, 1, vin, icol, vr, vc);
  sys_destroy(&s);
  return rc;
}

/* ---------------------------------------------------------------- transfer matrices */

void cim_ir_drop_first_order(const cim_ir_net *n, const double *G, double *a, double *b) {
  int R = n->rows, C = n->cols;
  double rw = n->r_wire;
  /* row i: the driver and segment 0 carry every cell's current, segment k the cells c' >= k, so
   * node c sees sum_c' G_ic' (r_drv + r_wire (1 + min(c, c'))) per volt on the row */
  for (int i = 0; i < R; i++) {
    const double *g = G + (size_t)i * C;
    double tot = 0;
    for (int c = 0; c < C; c++) tot += g[c];
    double below = 0, wbelow = 0; /* sum over c' < c of G, of G c' */
    for (int c = 0; c < C; c++) {
      double above = tot - below; /* c' >= c */
      a[(size_t)i * C + c] = (n->r_drv + rw) * tot + rw * (wbelow + (double)c * above);
      below += g[c], wbelow += g[c] * c;
    }
  }
  /* column c, sensed below row R-1: node i carries sum_i'' G_i''c (r_sns + r_wire (R - max(i,
   * i''))) per volt on row i */
  for (int c = 0; c < C; c++) {
    double tot = 0, wtot = 0; /* sum G, sum G (R - 1 - i'') */
    for (int i = 0; i < R; i++)
      tot += G[(size_t)i * C + c], wtot += G[(size_t)i * C + c] * (R - 1 - i);
    double upto = 0, wupto = 0; /* over i'' <= i */
    for (int i = 0; i < R; i++) {
      double g = G[(size_t)i * C + c];
      upto += g, wupto += g * (R - 1 - i);
      b[(size_t)i * C + c] =
          (n->r_sns + rw) * tot + rw * (upto * (double)(R - 1 - i) + (wtot - wupto));
    }
  }
}

/* The decoupled ladders of the fast model. Row i with the column nodes at 0 V is a ladder from
 * its driver (r_drv + r_wire, then r_wire per pitch) with the cells as shunts: v (cols) gets the
 * voltage of each row node per volt at the driver. Column c with the row nodes at 0 V is a
 * ladder to the sense amplifier with the cells as shunts: f (rows) gets the fraction of a current
 * injected at node i (by the cell of row i, a Norton source whose own conductance is one of the
 * shunts) that reaches the sense amplifier. Both by one sweep of admittances each way. */
static void row_ladder(int C, const double *g, ptrdiff_t stride, double r0, double rw, double *y,
                       double *v) {
  y[C - 1] = g[(size_t)(C - 1) * stride]; /* admittance at node c looking away from the driver */
  for (int c = C - 2; c >= 0; c--) y[c] = g[(size_t)c * stride] + y[c + 1] / (1 + rw * y[c + 1]);
  v[0] = 1 / (1 + r0 * y[0]);
  for (int c = 1; c < C; c++) v[c] = v[c - 1] / (1 + rw * y[c]);
}

static void col_ladder(int R, const double *h, ptrdiff_t stride, double r1, double rw, double *up,
                       double *dn, double *f) {
  if (r1 == 0) { /* no resistance at all: every node is the virtual ground */
    for (int i = 0; i < R; i++) f[i] = 1;
    return;
  }
  up[0] = 0; /* admittance at node i looking up (away from the sense), without its own shunt */
  for (int i = 1; i < R; i++) {
    double t = h[(size_t)(i - 1) * stride] + up[i - 1];
    up[i] = t / (1 + rw * t);
  }
  dn[R - 1] = 1 / r1; /* looking down towards the sense, without its own shunt */
  for (int i = R - 2; i >= 0; i--) {
    double t = h[(size_t)(i + 1) * stride] + dn[i + 1];
    dn[i] = t / (1 + rw * t);
  }
  double pass = 1; /* fraction of the current entering node i from above that reaches the sense */
  for (int i = R - 1; i >= 0; i--) {
    double hi = h[(size_t)i * stride];
    f[i] = pass * dn[i] / (hi + up[i] + dn[i]);
    pass *= dn[i] / (hi + dn[i]);
  }
}

int cim_ir_transfer(const cim_ir_net *n, int model, const double *G, double *T, double *drop_max) {
  size_t m = (size_t)n->rows * n->cols;
  int R = n->rows, C = n->cols;
  double *a = malloc(m * sizeof *a), *b = malloc(m * sizeof *b);
  int L = R > C ? R : C;
  double *w = malloc((size_t)4 * L * sizeof *w);
  if (!a || !b || !w) {
    free(a), free(b), free(w);
    return mon_fail("cimsim ir: out of memory");
  }
  cim_ir_drop_first_order(n, G, a, b);
  double dm = 0;
  for (size_t e = 0; e < m; e++) {
    if (a[e] + b[e] > dm) dm = a[e] + b[e];
    T[e] = G[e] * (1 - a[e] - b[e]);
  }
  if (drop_max) *drop_max = dm;
  if (model == CIM_IR_FAST) { /* a <- row-node voltages, b <- column fractions */
    for (int i = 0; i < R; i++)
      row_ladder(C, G + (size_t)i * C, 1, n->r_drv + n->r_wire, n->r_wire, w, a + (size_t)i * C);
    for (int c = 0; c < C; c++) {
      col_ladder(R, G + c, C, n->r_sns + n->r_wire, n->r_wire, w, w + L, w + 2 * L);
      for (int i = 0; i < R; i++) b[(size_t)i * C + c] = w[2 * L + i];
    }
    for (size_t e = 0; e < m; e++) T[e] = G[e] * a[e] * b[e];
  }
  free(a), free(b), free(w);
  if (model != CIM_IR_EXACT) return 0;
  irsys s;
  if (sys_create(&s, n, G)) return -1;
  enum { CHUNK = 64 }; /* right-hand sides per solve: a unit volt on one row each */
  int rc = 0;
  double *vin = calloc((size_t)CHUNK * R, sizeof *vin);
  double *ic = malloc((size_t)CHUNK * C * sizeof *ic);
  if (!vin || !ic) rc = mon_fail("cimsim ir: out of memory");
  for (int i0 = 0; i0 < R && !rc; i0 += CHUNK) {
    int k = R - i0 < CHUNK ? R - i0 : CHUNK;
    memset(vin, 0, (size_t)CHUNK * R * sizeof *vin);
    for (int v = 0; v < k; v++) vin[(size_t)v * R + i0 + v] = 1;
    rc = sys_solve(&s, k, vin, ic, NULL, NULL);
    for (int v = 0; v < k && !rc; v++)
      memcpy(T + (size_t)(i0 + v) * C, ic + (size_t)v * C, (size_t)C * sizeof *T);
  }
  free(vin), free(ic);
  sys_destroy(&s);
  return rc;
}

/* ---------------------------------------------------------------- folding into the runner */

static int blk_has_row(const cblk *K, int r) {
  for (int i = 0; i < K->nr; i++)
    if (K->rows[i] == r) return 1;
  return 0;
}

/* The rows driven in block K's MVM outside its piece: the rows of the other blocks of the same
 * MVM (blocks g0 .. g1-1), once each, with their input addresses. */
static int foreign_rows(cblk *K, const cblk *blk, int g0, int g1, int *mark) {
  int nx = 0;
  for (int g = g0; g < g1; g++)
    for (int i = 0; i < blk[g].nr; i++) {
      int r = blk[g].rows[i];
      if (mark[r] || blk_has_row(K, r)) continue;
      mark[r] = 1, nx++;
    }
  if (!nx) return 0;
  K->srcx = malloc((size_t)nx * sizeof *K->srcx);
  K->rowsx = malloc((size_t)nx * sizeof *K->rowsx);
  if (!K->srcx || !K->rowsx) return mon_fail("cimsim ir: out of memory");
  for (int g = g0; g < g1; g++)
    for (int i = 0; i < blk[g].nr; i++) {
      int r = blk[g].rows[i];
      if (!mark[r]) continue;
      mark[r] = 0;
      K->rowsx[K->nx] = r, K->srcx[K->nx++] = blk[g].src[i];
    }
  return 0;
}

int cim_ir_apply(cim_runner *R) {
  const cim_noise *z = &R->nz;
  if (!z->ir) return 0;
  cim_ir_net net = {R->hw.rows, R->hw.cols, z->ir_r_wire, z->ir_r_drv, z->ir_r_sns};
  if (net.r_wire == 0 && net.r_drv == 0 && net.r_sns == 0) return 0; /* the ideal network */
  int model = (int)z->ir_model, nsl = R->nsl, rows = net.rows, cols = net.cols;
  double gmin = z->gmax_us / z->onoff * 1e-6, dg = (z->gmax_us * 1e-6 - gmin) / R->L;
  size_t m = (size_t)rows * cols;
  int rc = 0;
  int *mark = calloc((size_t)rows, sizeof *mark);
  int *first = malloc((size_t)(R->mp.narrays + 1) * sizeof *first);
  int *order = malloc((size_t)(R->nblk + 1) * sizeof *order);
  float *E = malloc((size_t)nsl * m * sizeof *E); /* effective levels of one array */
  double *drop = calloc((size_t)nsl, sizeof *drop);
  if (!mark || !first || !order || !E || !drop) rc = mon_fail("cimsim ir: out of memory");
  /* rows driven outside each block's piece: blocks of one MVM are consecutive */
  for (int g0 = 0, g1; g0 < R->nblk && !rc; g0 = g1) {
    for (g1 = g0 + 1;
         g1 < R->nblk && R->blk[g1].array == R->blk[g0].array && R->blk[g1].step == R->blk[g0].step;
         g1++)
      ;
    for (int g = g0; g < g1 && !rc && g1 - g0 > 1; g++)
      rc = foreign_rows(&R->blk[g], R->blk, g0, g1, mark);
  }
  /* blocks by array */
  if (!rc) {
    memset(first, 0, (size_t)(R->mp.narrays + 1) * sizeof *first);
    for (int b = 0; b < R->nblk; b++) first[R->blk[b].array + 1]++;
    for (int a = 0; a < R->mp.narrays; a++) first[a + 1] += first[a];
    int *fill = calloc((size_t)R->mp.narrays + 1, sizeof *fill);
    if (!fill) rc = mon_fail("cimsim ir: out of memory");
    for (int b = 0; b < R->nblk && fill; b++) {
      int a = R->blk[b].array;
      order[first[a] + fill[a]++] = b;
    }
    free(fill);
  }
  double dmax = 0;
  int amax = -1;
  int nthr = openblas_get_num_threads();
  openblas_set_num_threads(1); /* CHOLMOD's BLAS: one thread each, parallel over crossbars */
  for (int a = 0; a < R->mp.narrays && !rc; a++) {
    if (first[a] == first[a + 1]) continue;
    /* levels of every programmed device of the array (unprogrammed cells: level 0 = Gmin) */
    for (size_t e = 0; e < (size_t)nsl * m; e++) E[e] = 0;
    for (int q = first[a]; q < first[a + 1]; q++) {
      const cblk *K = &R->blk[order[q]];
      int N = nsl * K->nc;
      for (int i = 0; i < K->nr; i++)
        for (int j = 0; j < nsl; j++)
          for (int c = 0; c < K->nc; c++)
            E[(size_t)j * m + (size_t)K->rows[i] * cols + K->col0 + c] =
                cim_h2f(K->G[(size_t)i * N + j * K->nc + c]);
    }
    int fail = 0;
    float *EE = E;
#pragma omp parallel for schedule(dynamic, 1) default(none) shared(EE, drop, net)                  \
    firstprivate(m, nsl, model, gmin, dg) reduction(|                                              \
                                                    : fail)
    for (int j = 0; j < nsl; j++) {
      double *G = malloc(m * sizeof *G), *T = malloc(m * sizeof *T);
      float *e = EE + (size_t)j * m;
      if (!G || !T) {
        fail = 1;
      } else {
        for (size_t k = 0; k < m; k++) G[k] = gmin + (double)e[k] * dg;
        if (cim_ir_transfer(&net, model, G, T, &drop[j]))
          fail = 1;
        else
          for (size_t k = 0; k < m; k++) e[k] = (float)((T[k] - gmin) / dg);
      }
      free(G), free(T);
    }
    if (fail) {
      rc = mon_fail("cimsim ir: array %d: %s", a, mon_errmsg());
      break;
    }
    for (int j = 0; j < nsl; j++)
      if (drop[j] > dmax) dmax = drop[j], amax = a;
    for (int q = first[a]; q < first[a + 1] && !rc; q++) {
      cblk *K = &R->blk[order[q]];
      int N = nsl * K->nc;
      K->Gf = malloc((size_t)K->nr * N * sizeof *K->Gf);
      if (!K->Gf) {
        rc = mon_fail("cimsim ir: out of memory");
        break;
      }
      for (int i = 0; i < K->nr; i++)
        for (int j = 0; j < nsl; j++)
          for (int c = 0; c < K->nc; c++)
            K->Gf[(size_t)i * N + j * K->nc + c] =
                E[(size_t)j * m + (size_t)K->rows[i] * cols + K->col0 + c];
      free(K->G);
      K->G = NULL;
      if (!K->nx) continue;
      K->Gx = malloc((size_t)K->nx * N * sizeof *K->Gx);
      if (!K->Gx) {
        rc = mon_fail("cimsim ir: out of memory");
        break;
      }
      for (int x = 0; x < K->nx; x++)
        for (int j = 0; j < nsl; j++)
          for (int c = 0; c < K->nc; c++)
            K->Gx[(size_t)x * N + j * K->nc + c] =
                E[(size_t)j * m + (size_t)K->rowsx[x] * cols + K->col0 + c];
    }
  }
  openblas_set_num_threads(nthr);
  R->ir_drop_max = dmax;
  /* the library's only message that is not an error: a sweep job's result stays valid, but its
   * IR-drop part leaves the validated range, and the run should say so where it is read */
  if (!rc && model == CIM_IR_FAST && dmax > CIM_IR_FAST_DROP_MAX)
    fprintf(stderr,
            "cimsim: warning: ir model=fast: first-order drop up to %.0f %% (array %d) is beyond "
            "the range where the fast model was checked to stay within 5 %% of the exact IR-drop "
            "error (<= %.0f %%); use ir:model=exact (docs/analog-model.md, IR drop)\n",
            100 * dmax, amax, 100 * CIM_IR_FAST_DROP_MAX);
  free(mark), free(first), free(order), free(E), free(drop);
  return rc;
}

void cim_ir_foreign(const cim_runner *R, const cblk *K, const int32_t *qin, int b0, int nb,
                    float *Dx, float *O) {
  const cfac *F = &R->fac[K->factor];
  int S = R->steps, nx = K->nx, N = R->nsl * K->nc;
  for (int bb = 0; bb < nb; bb++) {
    const int32_t *q = qin + (size_t)(b0 + bb) * F->in_len - F->in_addr;
    for (int k = 0; k < S; k++) {
      float *d = Dx + (size_t)(bb * S + k) * nx;
      for (int x = 0; x < nx; x++) d[x] = (float)cim_digit(R, q[K->srcx[x]], k);
    }
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb * S, N, nx, 1.0f, Dx, nx, K->Gx, N,
              1.0f, O, N);
}

double cim_runner_ir_drop(const cim_runner *r) {
  return r->ir_drop_max;
}
