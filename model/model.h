/* moncim model: the GPT-2-architecture transformer — its config.json, layers, forward pass
 * and evaluation, training, dense-to-sparse conversion, and the King James Bible data split.
 * Linear layers are dense or Monarch (kernels.h). Functions that can fail return 0 / -1 with a
 * message (base.h).
 */
#ifndef MONCIM_MODEL_H
#define MONCIM_MODEL_H

#include "kernels.h"

/* ---------------------------------------------------------------- config.json */

/* Hugging Face config.json of a GPT-2-architecture model (+ moncim's monarch_nblocks). */
typedef struct {
  int vocab_size;  /* n_vocab */
  int n_positions; /* context length */
  int n_embd;      /* d_model */
  int n_layer;
  int n_head;
  int n_inner;         /* d_ff (HF: null means 4 * n_embd) */
  int monarch_nblocks; /* 0 = dense linear layers */
  double layer_norm_epsilon;
} mon_gpt2_config;

/* Reads and validates path (e.g. models/x/config.json); errors name the file and the field. */
int mon_gpt2_config_read(mon_gpt2_config *c, const char *path);
int mon_gpt2_config_write(const mon_gpt2_config *c, const char *path);

/* ---------------------------------------------------------------- tokenizers */

/* Text <-> token ids. Two implementations behind one table of functions: "chars" (the zoo's
 * character vocabulary, one token per byte) and "gpt2-bpe" (GPT-2's byte-level BPE from a
 * vocab.json + merges.txt, pre-tokenized by GPT-2's regex through PCRE2). Every token is a byte
 * string; decode(encode(s)) == s for any bytes s, valid UTF-8 or not. */
typedef struct mon_tokenizer mon_tokenizer;
typedef struct {
  const char *name; /* "chars", "gpt2-bpe" */
  /* *ids: malloc'ed (*n), caller frees */
  int (*encode)(const mon_tokenizer *t, const uint8_t *text, size_t len, int32_t **ids, size_t *n);
} mon_tokenizer_ops;

/* The character vocabulary bytes[0..n-1] (token id -> byte, distinct). */
int mon_tokenizer_chars(mon_tokenizer **t, const uint8_t *bytes, int n);
/* GPT-2 BPE from vocab.json (token -> id) and merges.txt (ranked pairs); errors name the file
 * and line / token. */
int mon_tokenizer_bpe_load(mon_tokenizer **t, const char *vocab_json, const char *merges_txt);
/* DIR/vocab.json + DIR/merges.txt. */
int mon_tokenizer_load_dir(mon_tokenizer **t, const char *dir);
/* 1 if DIR holds vocab.json and merges.txt. */
int mon_tokenizer_dir_has_bpe(const char *dir);
/* Writes DIR/vocab.json + DIR/merges.txt for a BPE tokenizer (no-op for chars). */
int mon_tokenizer_save(const mon_tokenizer *t, const char *dir);
void mon_tokenizer_destroy(mon_tokenizer *t);
int mon_tokenizer_encode(const mon_tokenizer *t, const uint8_t *text, size_t len, int32_t **ids,
                         size_t *n);
/* Concatenated bytes of ids (malloc'ed, NUL-terminated past *len); fails on an unknown id. */
int mon_tokenizer_decode(const mon_tokenizer *t, const int32_t *ids, size_t n, uint8_t **out,
                         size_t *len);
/* The bytes of token id (NULL, *len 0 if out of range). */
const uint8_t *mon_tokenizer_token(const mon_tokenizer *t, int32_t id, size_t *len);
int mon_tokenizer_vocab_size(const mon_tokenizer *t);
const char *mon_tokenizer_kind(const mon_tokenizer *t);

/* ---------------------------------------------------------------- GPT-2 model */
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
  mon_tokenizer *tok;                   /* owned; NULL for a checkpoint without tokenizer files */
  int vocab[256];                       /* chars: byte -> token id, -1 for bytes not in it */
  uint8_t bytes[256];                   /* chars: token id -> byte */
  float *wte, *wpe;                     /* (vocab, d), (ctx, d) */
  float *ln1_w, *ln1_b, *ln2_w, *ln2_b; /* (n_layer, d) each */
  float *lnf_w, *lnf_b;                 /* (d) */
  mon_linear *lin; /* n_layer * MON_LIN_KINDS, index layer * MON_LIN_KINDS + kind */
} mon_model;

/* Loads DIR/config.json and DIR/model.safetensors; every tensor's presence and shape is checked
 * against the config (errors name the file and the tensor). Pair with mon_model_destroy.
 * Hugging Face hub checkpoints load as downloaded: tensor names with or without the
 * "transformer." prefix, F32 / F16 / BF16, lm_head.weight absent (tied) or equal to wte, the
 * attention-mask buffers h.N.attn.bias / masked_bias ignored, and the tokenizer from DIR/vocab.json
 * + DIR/merges.txt (GPT-2 BPE); without them, the character vocabulary recorded by moncim.
 * Memory: one float32 copy of the weights (4 bytes per weight) plus, transiently, one layer's
 * transpose; each tensor's file pages are released once converted (mon_st_release). */
int mon_model_load(mon_model *m, const char *dir);
/* Writes DIR in the same hub layout (config.json, model.safetensors in F32 without prefix, tied
 * head; vocab.json + merges.txt for a BPE tokenizer). */
int mon_model_save(const mon_model *m, const char *dir);
void mon_model_destroy(mon_model *m);
static inline mon_linear *mon_model_linear(const mon_model *m, int layer, mon_lin_kind k) {
  return &m->lin[layer * MON_LIN_KINDS + k];
}

/* The fixed data split of the King James Bible (Debian bible-kjv, `bible -f gen1:1-rev22:21`):
 * training text and held-out evaluation text (whole books never seen in training; see
 * models/README.md). The raw `bible` output is cached after the first read in $MONCIM_CACHE_DIR,
 * else $XDG_CACHE_HOME/moncim, else $HOME/.cache/moncim, else /tmp. Caller frees. */
int mon_kjv_text(uint8_t **train, size_t *ntrain, uint8_t **eval, size_t *neval);

typedef struct {
  int64_t positions;  /* next-token predictions scored: > 0 exactly that many (the first ones),
                         0 the fixed default 16384, < 0 every token of the text after the first */
  int context;        /* tokens per window, 1..n_positions (0: n_positions) */
  int stride;         /* tokens between window starts, 1..context (0: context) */
  int batch;          /* sequences per forward chunk (0 = default) */
  mon_linear_fn hook; /* NULL: float products (CBLAS / Monarch kernels) */
  void *hook_ctx;
  int32_t *pred; /* optional (positions): top-1 prediction (token id) per scored position */
  int attn_bits; /* 0: attention in float; else its digital operands q, k, v and output are
                    rounded to attn_bits signed integers (symmetric, one scale per vector and
                    head: mon_quantize_rows); softmax stays float */
} mon_eval_opts;

/* Rounds each of the n rows (len floats, stride apart) to a signed `bits`-bit integer grid with
 * its own symmetric scale max|row| / (2^(bits-1) - 1) (0 rows stay 0). bits in 2..24. */
void mon_quantize_rows(float *x, int n, int len, int stride, int bits);

typedef struct {
  double bpc;        /* bits per byte of the scored tokens' text (= per character for the
                        character vocabulary, whose tokens are single bytes) */
  double perplexity; /* exp(mean cross-entropy per token, nats) */
  double top1;       /* next-token top-1 accuracy, 0..1 */
  int64_t positions; /* tokens scored */
  int64_t bytes;     /* bytes of text those tokens spell */
} mon_eval_result;

/* Tokenizes text with m->tok and scores next-token predictions (windowing, as documented in
 * `moncim eval --help`): windows of `context` tokens start every `stride` tokens; the first
 * window scores all its positions, each later one only the targets no earlier window scored
 * (so with stride < context every scored token sees at least context - stride tokens of
 * history); the last window is shifted back to end at the last target, keeping full context.
 * A text shorter than context + 1 tokens is scored in one window of all its tokens.
 * Deterministic for any thread count. */
int mon_model_eval(const mon_model *m, const uint8_t *text, size_t len, const mon_eval_opts *o,
                   mon_eval_result *r);
/* The same on token ids (ids[0..n-1]); bytes per token come from m->tok if set, else 1. */
int mon_model_eval_ids(const mon_model *m, const int32_t *ids, size_t n, const mon_eval_opts *o,
                       mon_eval_result *r);

/* ---------------------------------------------------------------- construction, training */

/* Allocates every tensor of a model for config c (zeroed; LayerNorm gains 1), with the byte
 * vocabulary bytes[0..c->vocab_size-1] (token id -> byte, distinct), or with no tokenizer if
 * bytes is NULL (set m->tok). Linear layers are Monarch when c->monarch_nblocks > 0. Pair with
 * mon_model_destroy. */
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
  uint64_t seed;                                /* batch sampling */
  int log_every;                                /* progress callback period in steps (0: never) */
  void (*progress)(void *ctx, int step, double lr, double loss, double grad_norm, double secs);
  void *progress_ctx;
} mon_train_opts;
/* Defaults: lr 1e-3 -> 1e-4, warmup 100, wd 0.1, betas (0.9, 0.99), eps 1e-8, clip 1.0. */
void mon_train_opts_default(mon_train_opts *o);
/* AdamW training of m on random windows of text, tokenized by m->tok (n_positions + 1 tokens
 * each). */
int mon_model_train(mon_model *m, const uint8_t *text, size_t len, const mon_train_opts *o,
                    double *final_loss);

#endif
