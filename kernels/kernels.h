/* moncim kernels: dense and Monarch linear algebra, dense -> Monarch projection, checkpoints.
 *
 * Conventions (see ../shared/DESIGN.md): a linear layer computes y = W x with W of shape
 * (out, in), row-major. Batched activations are (batch, features) row-major, so the batched
 * product is Y = X W^T. A Monarch matrix follows the layout of the public MonarchLinear
 * (blkdiag1 / blkdiag2), so checkpoints written by it load here unchanged.
 *
 * Every function that can fail returns 0 on success and -1 on failure, after recording a
 * message that mon_errmsg() returns (per thread). Only the harness (bench/) exits.
 */
#ifndef MONCIM_KERNELS_H
#define MONCIM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */

#define MON_ERRLEN 1024

/* Records a printf-style message as this thread's last error and returns -1. */
int mon_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends "prefix: " to the current message (adds context while unwinding); returns -1. */
int mon_fail_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* This thread's last error message ("" if none). */
const char *mon_errmsg(void);

/* ---------------------------------------------------------------- dense */

/* OpenBLAS splits one product differently for different thread counts, and some splits change
 * the order of a reduction (on this project's 2-core test machine, sgemm 3x1000x2000 and sgemv
 * 100x4096 give other bits with 2 OpenBLAS threads than with 1). Results must not depend on
 * any thread setting, so moncim's kernels run OpenBLAS single-threaded and take their
 * parallelism from OpenMP over pieces whose decomposition does not depend on the thread count.
 * mon_blas_serial() makes OpenBLAS single-threaded for the rest of the process (called outside
 * parallel regions; a no-op inside one); every kernel entry point calls it. */
void mon_blas_serial(void);

/* y (out) = W (out, in) x (in), through CBLAS sgemv. */
void mon_dense_matvec(const float *w, int out, int in, const float *x, float *y);
/* Y (batch, out) = X (batch, in) W^T, W (out, in), through CBLAS sgemm. */
void mon_dense_apply(const float *w, int out, int in, int batch, const float *x, float *y);

/* ---------------------------------------------------------------- Monarch */

/* y = M x, M (out, in) as two block-diagonal factors with the Monarch permutation between them:
 *   stage 1: t[kk*q + qq]   = sum_pp w1[kk][qq][pp] * xpad[kk*p + pp]
 *   stage 2: y[ss*l + ll]   = sum_rr w2[ll][ss][rr] * t[rr*l + ll]
 * xpad is x padded with zeros to k*p; y is the first `out` entries of the l*s results. */
typedef struct {
  int in, out;  /* logical sizes of M (out, in) */
  int nblocks;  /* sparsity knob used to derive the shapes below */
  int k, q, p;  /* blkdiag1 shape: k blocks of (q, p); k*p = in_pad >= in */
  int l, s, r;  /* blkdiag2 shape: l blocks of (s, r); l*r = k*q; l*s = out_pad >= out */
  float *w1;    /* blkdiag1, (k, q, p) row-major */
  float *w2;    /* blkdiag2, (l, s, r) row-major */
} mon_monarch;

/* Fills the shape fields of m for MonarchLinear(in, out, nblocks) (w1/w2 left NULL):
 * in_blk = ceil(in/nb), out_blk = ceil(out/nb); if nb*in_blk < nb*out_blk then
 * w1 (nb, in_blk, in_blk), w2 (nb, out_blk, in_blk); else w1 (nb, out_blk, in_blk),
 * w2 (nb, out_blk, out_blk). Fails if nblocks < 1 or nblocks > min(in, out). */
int mon_monarch_shape(mon_monarch *m, int out, int in, int nblocks);
/* Shape as above, factors allocated and zeroed. Pair with mon_monarch_destroy. */
int mon_monarch_create(mon_monarch *m, int out, int in, int nblocks);
/* Shape from explicit factor shapes (as read from a checkpoint); factors allocated, zeroed. */
int mon_monarch_create_shaped(mon_monarch *m, int out, int in, int k, int q, int p, int l, int s,
                              int r);
void mon_monarch_destroy(mon_monarch *m);
size_t mon_monarch_w1_len(const mon_monarch *m); /* k*q*p */
size_t mon_monarch_w2_len(const mon_monarch *m); /* l*s*r */

/* Plain reference: loops exactly as the equations above. y (batch, out), x (batch, in). */
void mon_monarch_apply_ref(const mon_monarch *m, int batch, const float *x, float *y);
/* Fast version (per-block SGEMM, OpenMP over blocks); matches apply_ref to float rounding. */
int mon_monarch_apply(const mon_monarch *m, int batch, const float *x, float *y);
/* The dense matrix W (out, in) equal to M. */
void mon_monarch_to_dense(const mon_monarch *m, float *w);

/* Rank of the (ll, kk) sub-block of M: the number of intermediate indices j = kk*q + qq with
 * j % l == ll (j < k*q). For square, divisible sizes it is n / nblocks^2 for every block. */
int mon_monarch_block_rank(const mon_monarch *m, int ll, int kk);

typedef struct {
  double norm_fro;    /* ||D||_F over the logical (out, in) region */
  double err_fro;     /* ||D - M||_F over the logical region, measured */
  double rel_err;     /* err_fro / norm_fro (0 when D = 0) */
  double kept_sq;     /* sum of kept singular values squared, over all sub-blocks */
  double discarded_sq;/* sum of discarded singular values squared: equals err_fro^2 (the
                         projection is optimal per sub-block; zero padding rows/columns get zero
                         singular-vector entries, so the padding adds no error) */
} mon_project_info;

/* Nearest Monarch matrix to D (out, in) for the given nblocks: every strided sub-block
 * D[ss*l + ll][kk*p + pp] (s x p) gets its truncated SVD (LAPACKE sgesdd) at the rank
 * mon_monarch_block_rank(ll, kk). Allocates m (pair with mon_monarch_destroy). */
int mon_monarch_project(const float *d, int out, int in, int nblocks, mon_monarch *m,
                        mon_project_info *info);

/* Parameter and FLOP counts (a multiply-add counts as 2 FLOPs) per input vector. */
typedef struct {
  long long dense_params, monarch_params;
  long long dense_flops, monarch_flops;
} mon_counts;
void mon_monarch_counts(const mon_monarch *m, mon_counts *c);

/* ---------------------------------------------------------------- checkpoints */

/* Element types of safetensors. F32, F16 and BF16 convert to float32; the others are
 * validated and listed (moncim info) but mon_st_read_f32 refuses them by name. */
typedef enum {
  MON_F32 = 0,
  MON_F16,
  MON_BF16,
  MON_F64,
  MON_I64,
  MON_I32,
  MON_I16,
  MON_I8,
  MON_U64,
  MON_U32,
  MON_U16,
  MON_U8,
  MON_BOOL,
  MON_F8_E4M3,
  MON_F8_E5M2,
  MON_NDTYPES
} mon_dtype;

#define MON_MAX_DIMS 8
#define MON_NAME_MAX 256

typedef struct {
  char name[MON_NAME_MAX];
  mon_dtype dtype;
  int ndim;
  int64_t shape[MON_MAX_DIMS];
  int64_t numel;
  const void *data; /* into the read-only mapping, nbytes long */
  size_t nbytes;
} mon_tensor;

/* A safetensors file, memory-mapped read-only; every offset, shape and dtype validated. */
typedef struct {
  char path[4096];
  void *map;
  size_t map_len;
  int ntensors;
  mon_tensor *tensors; /* in file order of their data offsets */
  char *metadata_json; /* the "__metadata__" object as JSON text, or NULL */
  int nmeta;           /* number of "__metadata__" entries */
  char **meta_keys;    /* (nmeta) keys, in file order */
  char **meta_values;  /* (nmeta) values */
  size_t header_len;   /* JSON header bytes (the 8-byte length prefix excluded) */
} mon_safetensors;

int mon_st_open(mon_safetensors *st, const char *path);
void mon_st_close(mon_safetensors *st);
/* NULL (and an error message naming the file and the tensor) if absent. */
const mon_tensor *mon_st_find(const mon_safetensors *st, const char *name);
/* Converts a tensor to freshly malloc'ed float32 (F32, F16, BF16); caller frees. If
 * expect_ndim > 0, also checks the shape against expect_shape (-1 = any) with a clear message. */
int mon_st_read_f32(const mon_safetensors *st, const char *name, int expect_ndim,
                    const int64_t *expect_shape, float **out);
const char *mon_dtype_name(mon_dtype t);
/* Bytes per element of a dtype. */
size_t mon_dtype_size(mon_dtype t);
/* Value of a "__metadata__" key, or NULL if absent (no error recorded). */
const char *mon_st_meta_get(const mon_safetensors *st, const char *key);
/* IEEE half (binary16) and bfloat16 bit patterns to float32, exact (subnormals, inf, nan). */
float mon_f16_to_f32(uint16_t h);
float mon_bf16_to_f32(uint16_t b);

/* Writer: collect tensors (borrowed pointers, F32), then write atomically (tmp + rename). */
typedef struct mon_st_writer mon_st_writer;
mon_st_writer *mon_st_writer_create(void);
int mon_st_writer_add(mon_st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data);
/* Optional "__metadata__" string map entries. */
int mon_st_writer_meta(mon_st_writer *w, const char *key, const char *value);
int mon_st_writer_write(mon_st_writer *w, const char *path);
void mon_st_writer_destroy(mon_st_writer *w);

/* Hugging Face config.json of a GPT-2-architecture model (+ moncim's monarch_nblocks). */
typedef struct {
  int vocab_size;      /* n_vocab */
  int n_positions;     /* context length */
  int n_embd;          /* d_model */
  int n_layer;
  int n_head;
  int n_inner;         /* d_ff (HF: null means 4 * n_embd) */
  int monarch_nblocks; /* 0 = dense linear layers */
  double layer_norm_epsilon;
} mon_gpt2_config;

/* Reads and validates path (e.g. models/x/config.json); errors name the file and the field. */
int mon_gpt2_config_read(mon_gpt2_config *c, const char *path);
int mon_gpt2_config_write(const mon_gpt2_config *c, const char *path);

/* Writes nparts buffers to path atomically: a temporary file in the same directory, every
 * write/fsync/close checked, then rename(). On failure path is untouched and no temp remains. */
int mon_write_atomic(const char *path, int nparts, const void *const *parts, const size_t *lens);

/* ---------------------------------------------------------------- GPT-2 model (model issue) */
/* Character-level GPT-2 (learned positions, pre-LayerNorm, GELU MLP, causal multi-head
 * attention, tied embeddings). Linear layers are dense or Monarch. Checkpoints use the Hugging
 * Face GPT-2 names: wte.weight, wpe.weight, h.{i}.ln_1.{weight,bias}, h.{i}.attn.c_attn.*,
 * h.{i}.attn.c_proj.*, h.{i}.ln_2.*, h.{i}.mlp.c_fc.*, h.{i}.mlp.c_proj.*, ln_f.*. Dense weights
 * are stored as HF Conv1D, shape (in, out); a Monarch linear stores
 * h.{i}.attn.c_attn.blkdiag1 (k, q, p), .blkdiag2 (l, s, r) and .bias (out). */

/* The weight-stationary linear layers of one transformer block, in forward order. */
typedef enum {
  MON_LIN_QKV = 0,  /* attn.c_attn: (3 d, d) */
  MON_LIN_ATTN_OUT, /* attn.c_proj: (d, d) */
  MON_LIN_FC,       /* mlp.c_fc: (d_ff, d) */
  MON_LIN_PROJ,     /* mlp.c_proj: (d, d_ff) */
  MON_LIN_KINDS
} mon_lin_kind;
const char *mon_lin_kind_name(mon_lin_kind k); /* "qkv", "attn_out", "fc", "proj" */

/* One linear layer y = W x + b, W (out, in) in moncim's orientation (not Conv1D's). */
typedef struct {
  int out, in;
  int is_monarch;
  float *w;      /* dense W (out, in) row-major, when !is_monarch */
  mon_monarch m; /* factors, when is_monarch */
  float *b;      /* bias (out) */
} mon_linear;

/* Replaces the product Y = X W^T of one linear layer (the bias is added by the caller).
 * x (batch, in), y (batch, out). `row0` is the global index of x's first row in the evaluation
 * stream (position counter over the whole evaluated text), so a simulator can key its
 * counter-based noise per input vector independently of how rows are batched. Called from
 * outside any OpenMP parallel region; the hook parallelises inside. 0 / -1 + mon_fail. */
typedef int (*mon_linear_fn)(void *ctx, int layer, mon_lin_kind kind, const mon_linear *lin,
                             int64_t row0, int batch, const float *x, float *y);

typedef struct {
  mon_gpt2_config cfg;
  int vocab[256];   /* byte -> token id, -1 for bytes not in the vocabulary */
  uint8_t bytes[256]; /* token id -> byte */
  float *wte, *wpe; /* (vocab, d), (ctx, d) */
  float *ln1_w, *ln1_b, *ln2_w, *ln2_b; /* (n_layer, d) each */
  float *lnf_w, *lnf_b;                 /* (d) */
  mon_linear *lin; /* n_layer * MON_LIN_KINDS, index layer * MON_LIN_KINDS + kind */
} mon_model;

/* Loads DIR/config.json and DIR/model.safetensors; every tensor's presence and shape is checked
 * against the config (errors name the file and the tensor). Pair with mon_model_destroy. */
int mon_model_load(mon_model *m, const char *dir);
int mon_model_save(const mon_model *m, const char *dir);
void mon_model_destroy(mon_model *m);
static inline mon_linear *mon_model_linear(const mon_model *m, int layer, mon_lin_kind k) {
  return &m->lin[layer * MON_LIN_KINDS + k];
}

/* The fixed data split of the King James Bible (Debian bible-kjv, `bible -f gen1:1-rev22:21`):
 * training text and held-out evaluation text (whole books never seen in training; see
 * models/README.md). Cached under the build tree after the first read. Caller frees. */
int mon_kjv_text(uint8_t **train, size_t *ntrain, uint8_t **eval, size_t *neval);

typedef struct {
  int64_t positions;  /* next-character predictions scored (fixed, documented default) */
  int batch;          /* sequences per forward chunk (0 = default) */
  mon_linear_fn hook; /* NULL: float products (CBLAS / Monarch kernels) */
  void *hook_ctx;
  int32_t *pred;      /* optional (positions): top-1 prediction (token id) per scored position */
  int attn_bits;      /* 0: attention in float; else its digital operands q, k, v and output are
                         rounded to attn_bits signed integers (symmetric, one scale per vector and
                         head: mon_quantize_rows); softmax stays float */
} mon_eval_opts;

/* Rounds each of the n rows (len floats, stride apart) to a signed `bits`-bit integer grid with
 * its own symmetric scale max|row| / (2^(bits-1) - 1) (0 rows stay 0). bits in 2..24. */
void mon_quantize_rows(float *x, int n, int len, int stride, int bits);

typedef struct {
  double bpc;        /* mean cross-entropy, bits per character */
  double top1;       /* next-character top-1 accuracy, 0..1 */
  int64_t positions; /* positions scored */
} mon_eval_result;

/* Scores `positions` next-character predictions on text (non-overlapping windows of the
 * model's context; every position of a window is scored). Deterministic for any thread count. */
int mon_model_eval(const mon_model *m, const uint8_t *text, size_t len, const mon_eval_opts *o,
                   mon_eval_result *r);

/* ---------------------------------------------------------------- model construction, training
 * (model issue, additions; implemented in model.c and train.c) */

/* Allocates every tensor of a model for config c (zeroed; LayerNorm gains 1), with the byte
 * vocabulary bytes[0..c->vocab_size-1] (token id -> byte, distinct). Linear layers are Monarch
 * when c->monarch_nblocks > 0. Pair with mon_model_destroy. */
int mon_model_alloc(mon_model *m, const mon_gpt2_config *c, const uint8_t *bytes);
/* GPT-2 initialisation: weights N(0, 0.02), residual projections (attn_out, proj) scaled by
 * 1/sqrt(2 n_layer), biases 0, LayerNorm gains 1; a Monarch factor pair gets the same output
 * variance as the dense layer. Deterministic in seed. */
void mon_model_init_random(mon_model *m, uint64_t seed);
/* The sorted set of bytes occurring in text (the character vocabulary); returns its size. */
int mon_vocab_build(const uint8_t *text, size_t len, uint8_t bytes[256]);
/* Dense-to-sparse: replaces every dense linear weight by its projection onto Monarch matrices
 * (mon_monarch_project) with nblocks; biases kept; sets cfg.monarch_nblocks. rel_err (may be
 * NULL) receives the mean relative Frobenius error of the projections. */
int mon_model_to_monarch(mon_model *m, int nblocks, double *rel_err);

/* One named parameter tensor of a model (checkpoint name, moncim orientation). */
typedef struct {
  char name[MON_NAME_MAX];
  float *data;
  size_t n;
  int ndim;
  int64_t shape[3]; /* in moncim's orientation; dense linear weights are (out, in) */
  int conv1d;       /* 1: dense linear weight, stored transposed (in, out) as HF Conv1D */
  int decay;        /* 1: AdamW weight decay applies (matrices and embeddings) */
} mon_param;
/* Fills out[0..] (at most max) with the parameter tensors in checkpoint order; returns count. */
int mon_model_params(const mon_model *m, mon_param *out, int max);
long long mon_model_nparams(const mon_model *m);
/* Forward FLOPs per token (a multiply-add = 2): weight products, the tied head, and attention
 * scores + mixing at the mean causal span (ctx+1)/2. */
double mon_model_flops_per_token(const mon_model *m);

/* Mean cross-entropy (nats) of B sequences of T tokens (tok, tgt: B*T token ids) and, if grad
 * is not NULL (allocated like m with mon_model_alloc), grad = d loss / d parameters
 * (overwritten). Deterministic for a given thread count. */
int mon_model_loss_grad(const mon_model *m, const int32_t *tok, const int32_t *tgt, int B, int T,
                        double *loss, mon_model *grad);

typedef struct {
  int steps, batch, warmup; /* optimizer steps, sequences per step, linear warm-up steps */
  double lr, min_lr;        /* cosine schedule from lr (after warm-up) down to min_lr */
  double weight_decay, beta1, beta2, eps, clip; /* AdamW; clip = max global gradient norm */
  uint64_t seed;            /* batch sampling */
  int log_every;            /* progress callback period in steps (0: never) */
  void (*progress)(void *ctx, int step, double lr, double loss, double grad_norm, double secs);
  void *progress_ctx;
} mon_train_opts;
/* Defaults: lr 1e-3 -> 1e-4, warmup 100, wd 0.1, betas (0.9, 0.99), eps 1e-8, clip 1.0. */
void mon_train_opts_default(mon_train_opts *o);
/* AdamW training of m on random windows of text (m->cfg.n_positions + 1 bytes each). */
int mon_model_train(mon_model *m, const uint8_t *text, size_t len, const mon_train_opts *o,
                    double *final_loss);

#endif
