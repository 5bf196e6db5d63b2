/* Monarch matrices: shapes, reference and fast multiply, materialization, projection. */
#include "kernels.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

int mon_monarch_shape(mon_monarch *m, int out, int in, int nblocks) {
  memset(m, 0, sizeof *m);
  if (in < 1 || out < 1)
    return mon_fail("monarch: matrix shape (%d, %d) must be positive", out, in);
  if (nblocks < 1) return mon_fail("monarch: nblocks = %d, expected >= 1", nblocks);
  if (nblocks > in || nblocks > out)
    return mon_fail("monarch: nblocks = %d is larger than the matrix dimension (out %d, in %d)",
                    nblocks, out, in);
  int in_blk = ceil_div(in, nblocks), out_blk = ceil_div(out, nblocks);
  m->in = in;
  m->out = out;
  m->nblocks = nblocks;
  m->k = m->l = nblocks;
  m->p = in_blk;
  m->r = in_blk;
  if (nblocks * in_blk <
      nblocks * out_blk) { /* w1 (nb, in_blk, in_blk), w2 (nb, out_blk, in_blk) */
    m->q = in_blk;
    m->s = out_blk;
    m->r = in_blk;
  } else { /* w1 (nb, out_blk, in_blk), w2 (nb, out_blk, out_blk) */
    m->q = out_blk;
    m->s = out_blk;
    m->r = out_blk;
  }
  return 0;
}

static int alloc_factors(mon_monarch *m) {
  m->w1 = calloc(mon_monarch_w1_len(m), sizeof(float));
  m->w2 = calloc(mon_monarch_w2_len(m), sizeof(float));
  if (!m->w1 || !m->w2) {
    mon_monarch_destroy(m);
    return mon_fail("monarch: out of memory for factors");
  }
  return 0;
}

int mon_monarch_create(mon_monarch *m, int out, int in, int nblocks) {
  if (mon_monarch_shape(m, out, in, nblocks)) return -1;
  return alloc_factors(m);
}

int mon_monarch_create_shaped(mon_monarch *m, int out, int in, int k, int q, int p, int l, int s,
                              int r) {
  memset(m, 0, sizeof *m);
  if (k < 1 || q < 1 || p < 1 || l < 1 || s < 1 || r < 1)
    return mon_fail("monarch: factor shapes (%d,%d,%d) and (%d,%d,%d) must be positive", k, q, p, l,
                    s, r);
  if (l * r != k * q)
    return mon_fail("monarch: blkdiag2 (%d,%d,%d) does not chain with blkdiag1 (%d,%d,%d): "
                    "l*r = %d but k*q = %d",
                    l, s, r, k, q, p, l * r, k * q);
  if (k * p < in || k * p - in >= p)
    return mon_fail("monarch: blkdiag1 (%d,%d,%d) covers %d inputs, expected in = %d (padding < p)",
                    k, q, p, k * p, in);
  if (l * s < out || l * s - out >= s)
    return mon_fail("monarch: blkdiag2 (%d,%d,%d) covers %d outputs, expected out = %d", l, s, r,
                    l * s, out);
  *m = (mon_monarch){
      .in = in, .out = out, .nblocks = k, .k = k, .q = q, .p = p, .l = l, .s = s, .r = r};
  return alloc_factors(m);
}

void mon_monarch_destroy(mon_monarch *m) {
  if (!m) return;
  free(m->w1);
  free(m->w2);
  m->w1 = m->w2 = NULL;
}

size_t mon_monarch_w1_len(const mon_monarch *m) {
  return (size_t)m->k * m->q * m->p;
}
size_t mon_monarch_w2_len(const mon_monarch *m) {
  return (size_t)m->l * m->s * m->r;
}

void mon_monarch_apply_ref(const mon_monarch *m, int batch, const float *x, float *y) {
  const int k = m->k, q = m->q, p = m->p, l = m->l, s = m->s, r = m->r;
  float *t = malloc((size_t)k * q * sizeof(float));
  if (!t) abort(); /* a reference kernel of a few KiB: failure here is not recoverable */
  for (int b = 0; b < batch; b++) {
    const float *xb = x + (size_t)b * m->in;
    for (int kk = 0; kk < k; kk++)
      for (int qq = 0; qq < q; qq++) {
        double acc = 0;
        for (int pp = 0; pp < p; pp++) {
          int i = kk * p + pp;
          if (i < m->in) acc += (double)m->w1[((size_t)kk * q + qq) * p + pp] * xb[i];
        }
        t[kk * q + qq] = (float)acc;
      }
    for (int ll = 0; ll < l; ll++)
      for (int ss = 0; ss < s; ss++) {
        int o = ss * l + ll;
        if (o >= m->out) continue;
        double acc = 0;
        for (int rr = 0; rr < r; rr++)
          acc += (double)m->w2[((size_t)ll * s + ss) * r + rr] * t[rr * l + ll];
        y[(size_t)b * m->out + o] = (float)acc;
      }
  }
  free(t);
}

/* Per-block SGEMMs. The permutation between the stages is a per-row transpose of the
 * (r, l) grid into (l, r), so that each stage-2 block reads a unit-stride panel; the stage-2
 * output (l, s) is transposed back into the interleaved y[ss*l + ll]. */
int mon_monarch_apply(const mon_monarch *m, int batch, const float *x, float *y) {
  mon_blas_serial();
  const int k = m->k, q = m->q, p = m->p, l = m->l, s = m->s, r = m->r;
  const size_t kq = (size_t)k * q, ls = (size_t)l * s;
  float *t = malloc((size_t)batch * kq * sizeof(float));
  float *tt = malloc((size_t)batch * kq * sizeof(float));
  float *y2 = malloc((size_t)batch * ls * sizeof(float));
  if (!t || !tt || !y2) {
    free(t), free(tt), free(y2);
    return mon_fail("monarch: out of memory for a batch of %d", batch);
  }
  /* One single-threaded product per block, blocks in parallel: the same bits for any number of
   * threads (mon_blas_serial). */
#pragma omp parallel for schedule(static) default(none) shared(m, x, t, k, p, q, kq, batch)
  for (int kk = 0; kk < k; kk++) {
    int kin = m->in - kk * p; /* inputs of this block that exist (the rest is zero padding) */
    if (kin > p) kin = p;
    float *tk = t + (size_t)kk * q;
    if (kin <= 0) {
      for (int b = 0; b < batch; b++) memset(tk + b * kq, 0, (size_t)q * sizeof(float));
      continue;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, q, kin, 1.0f, x + (size_t)kk * p,
                m->in, m->w1 + (size_t)kk * q * p, p, 0.0f, tk, (int)kq);
  }
  for (int b = 0; b < batch; b++) {
    const float *tb = t + b * kq;
    float *ttb = tt + b * kq;
    for (int rr = 0; rr < r; rr++)
      for (int ll = 0; ll < l; ll++) ttb[(size_t)ll * r + rr] = tb[(size_t)rr * l + ll];
  }
#pragma omp parallel for schedule(static) default(none) shared(m, tt, y2, l, s, r, kq, ls, batch)
  for (int ll = 0; ll < l; ll++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, s, r, 1.0f, tt + (size_t)ll * r,
                (int)kq, m->w2 + (size_t)ll * s * r, r, 0.0f, y2 + (size_t)ll * s, (int)ls);
  for (int b = 0; b < batch; b++) {
    const float *yb2 = y2 + b * ls;
    float *yb = y + (size_t)b * m->out;
    for (int ss = 0; ss < s; ss++)
      for (int ll = 0; ll < l; ll++) {
        int o = ss * l + ll;
        if (o < m->out) yb[o] = yb2[(size_t)ll * s + ss];
      }
  }
  free(t), free(tt), free(y2);
  return 0;
}

void mon_monarch_to_dense(const mon_monarch *m, float *w) {
  const int q = m->q, p = m->p, l = m->l, s = m->s, r = m->r;
  memset(w, 0, (size_t)m->out * m->in * sizeof(float));
  for (int j = 0; j < m->k * q; j++) {
    int kk = j / q, qq = j % q, ll = j % l, rr = j / l;
    const float *w1row = m->w1 + ((size_t)kk * q + qq) * p;
    for (int ss = 0; ss < s; ss++) {
      int o = ss * l + ll;
      if (o >= m->out) break;
      float a = m->w2[((size_t)ll * s + ss) * r + rr];
      float *wrow = w + (size_t)o * m->in;
      for (int pp = 0; pp < p; pp++) {
        int i = kk * p + pp;
        if (i >= m->in) break;
        wrow[i] += a * w1row[pp];
      }
    }
  }
}

int mon_monarch_block_rank(const mon_monarch *m, int ll, int kk) {
  int n = 0;
  for (int j = kk * m->q; j < (kk + 1) * m->q; j++) n += (j % m->l == ll);
  return n;
}

void mon_monarch_counts(const mon_monarch *m, mon_counts *c) {
  c->dense_params = (long long)m->out * m->in;
  c->monarch_params = (long long)mon_monarch_w1_len(m) + (long long)mon_monarch_w2_len(m);
  c->dense_flops = 2 * c->dense_params;
  c->monarch_flops = 2 * c->monarch_params;
}

/* Projects one (ll, kk) sub-block; returns -1 on LAPACK failure. Accumulates into the sums. */
static int project_block(const float *d, mon_monarch *m, int ll, int kk, double *kept,
                         double *discarded, double *err_sq) {
  const int s = m->s, p = m->p, q = m->q, l = m->l, r = m->r;
  const int mn = s < p ? s : p;
  int rank = mon_monarch_block_rank(m, ll, kk);
  float *blk = malloc((size_t)s * p * sizeof(float));
  float *sv = malloc((size_t)mn * sizeof(float));
  float *u = malloc((size_t)s * mn * sizeof(float));
  float *vt = malloc((size_t)mn * p * sizeof(float));
  float *rec = malloc((size_t)s * p * sizeof(float));
  int rc = 0;
  if (!blk || !sv || !u || !vt || !rec) {
    rc = mon_fail("projection: out of memory for a %d x %d sub-block", s, p);
    goto done;
  }
  for (int ss = 0; ss < s; ss++)
    for (int pp = 0; pp < p; pp++) {
      int o = ss * l + ll, i = kk * p + pp;
      blk[(size_t)ss * p + pp] = (o < m->out && i < m->in) ? d[(size_t)o * m->in + i] : 0.0f;
    }
  float *work = malloc((size_t)s * p * sizeof(float));
  if (!work) {
    rc = mon_fail("projection: out of memory");
    goto done;
  }
  memcpy(work, blk, (size_t)s * p * sizeof(float));
  lapack_int info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', s, p, work, p, sv, u, mn, vt, p);
  free(work);
  if (info != 0) {
    rc = mon_fail("projection: LAPACKE_sgesdd failed (info %d) on sub-block (%d, %d)", (int)info,
                  ll, kk);
    goto done;
  }
  int keep = rank < mn ? rank : mn;
  for (int t = 0; t < mn; t++) {
    double s2 = (double)sv[t] * sv[t];
    if (t < keep)
      *kept += s2;
    else
      *discarded += s2;
  }
  /* The t-th kept component goes to the t-th intermediate index j of this sub-block; the
   * singular value is split evenly so both factors carry the same scale. */
  int t = 0;
  for (int j = kk * q; j < (kk + 1) * q; j++) {
    if (j % l != ll) continue;
    int qq = j - kk * q, rr = j / l;
    float *w1row = m->w1 + ((size_t)kk * q + qq) * p;
    float root = t < keep ? sqrtf(sv[t]) : 0.0f;
    for (int pp = 0; pp < p; pp++) w1row[pp] = t < keep ? root * vt[(size_t)t * p + pp] : 0.0f;
    for (int ss = 0; ss < s; ss++)
      m->w2[((size_t)ll * s + ss) * r + rr] = t < keep ? root * u[(size_t)ss * mn + t] : 0.0f;
    t++;
  }
  /* Measured error of this sub-block over the logical (unpadded) region. */
  memset(rec, 0, (size_t)s * p * sizeof(float));
  if (keep > 0) {
    for (int c = 0; c < keep; c++)
      for (int ss = 0; ss < s; ss++) u[(size_t)ss * mn + c] *= sv[c];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, p, keep, 1.0f, u, mn, vt, p, 0.0f,
                rec, p);
  }
  double e = 0;
  for (int ss = 0; ss < s; ss++)
    for (int pp = 0; pp < p; pp++) {
      if (ss * l + ll >= m->out || kk * p + pp >= m->in) continue;
      double diff = (double)blk[(size_t)ss * p + pp] - rec[(size_t)ss * p + pp];
      e += diff * diff;
    }
  *err_sq += e;
done:
  free(blk), free(sv), free(u), free(vt), free(rec);
  return rc;
}

int mon_monarch_project(const float *d, int out, int in, int nblocks, mon_monarch *m,
                        mon_project_info *info) {
  if (mon_monarch_create(m, out, in, nblocks)) return mon_fail_ctx("projection");
  double norm_sq = 0;
  for (size_t i = 0; i < (size_t)out * in; i++) norm_sq += (double)d[i] * d[i];
  double kept = 0, discarded = 0, err_sq = 0;
  int failed = 0;
  const int nsub = m->l * m->k;
  char msg[MON_ERRLEN] = "";
  /* With enough sub-blocks for every OpenMP thread, the blocks run in parallel and OpenBLAS
   * single-threaded: its own pthreads inside the OpenMP loop oversubscribe the cores and spin
   * (measured on 2 cores, 4096x4096 random W, `moncim project`: nblocks 64 took 3.4 s with 2
   * OpenBLAS threads, 0.66 s with 1; nblocks 4: 5.0 s vs 2.0 s). With fewer sub-blocks than
   * threads (nblocks 1), the blocks run in turn, OpenBLAS single-threaded too (kernels.h:
   * its thread count would change the SVD's bits). */
  const int by_block = nsub >= omp_get_max_threads();
  mon_blas_serial(); /* the SVDs' bits must not depend on OpenBLAS's thread count either */
#pragma omp parallel for if (by_block) schedule(dynamic) \
    reduction(+ : kept, discarded, err_sq) default(none) shared(d, m, nsub, failed, msg)
  for (int b = 0; b < nsub; b++) {
    if (project_block(d, m, b / m->k, b % m->k, &kept, &discarded, &err_sq)) {
#pragma omp critical(mon_project_fail)
      {
        if (!failed) snprintf(msg, sizeof msg, "%s", mon_errmsg());
        failed = 1;
      }
    }
  }
  if (failed) {
    mon_monarch_destroy(m);
    return mon_fail("%s", msg);
  }
  if (info) {
    info->norm_fro = sqrt(norm_sq);
    info->err_fro = sqrt(err_sq);
    info->rel_err = norm_sq > 0 ? info->err_fro / info->norm_fro : 0;
    info->kept_sq = kept;
    info->discarded_sq = discarded;
  }
  return 0;
}
