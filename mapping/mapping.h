/* moncim mapping: hardware description, model description, placement of dense and Monarch
 * factors on m x m crossbar arrays (Linear | SparseMap | DenseMap | Auto) and the CIM command
 * stream of one inference step (one token), plus a reference executor that proves every address.
 *
 * Conventions (see docs/mapping.md and ../shared/DESIGN.md):
 * - Inputs drive array ROWS (wordlines), outputs are read on COLUMNS (bitlines). A block of shape
 *   (out_b, in_b) is stored transposed: cell (row0 + i, col0 + o) holds W_block[o][i].
 * - An array is m_rows x m_cols LOGICAL weight cells. Each logical cell stands for one w_bits
 *   weight; its realisation as `map_hw_slices()` cells of cell_bits (times 2 for a differential
 *   pair) is implied by the hardware and is the simulator's business, as are the DAC steps of an
 *   MVM (`map_hw_dac_steps()`) and the shift-add that recombines steps and slices.
 * - Buffers: one flat float address space; an address counts floats from 0. Each linear layer owns
 *   disjoint regions (input X, intermediates, output Y, partial sums); map_stream.io[] names the
 *   X and Y regions so a caller can put an input vector and read the output.
 *
 * Functions that can fail return 0 / -1 after mon_fail() (message via mon_errmsg()).
 */
#ifndef MONCIM_MAPPING_H
#define MONCIM_MAPPING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "model.h"

/* ================================================================ hardware */

/* One crossbar tile type. Defaults (map_hw_default) and configs/hw-default.json cite their sources.
 * The parser is table-driven (mapping/hw.c, table `hw_fields`): to add a field, add a member here
 * and one row there. */
typedef struct {
  char name[64];       /* free text label of the configuration */
  int rows;            /* m: wordlines (inputs) per array */
  int cols;            /* m: bitlines (outputs) per array, logical weight columns */
  int cell_bits;       /* bits stored per device */
  int w_bits;          /* weight resolution incl. sign, bits */
  int in_bits;         /* input (activation) resolution incl. sign, bits */
  int dac_bits;        /* bits applied per DAC step (1 = bit-serial) */
  int adc_bits;        /* ADC resolution, bits */
  int cols_per_adc;    /* columns multiplexed onto one ADC (ADCs per array = cols / cols_per_adc) */
  int differential;    /* 1: signed weights as a G+/G- column pair; 0: offset column */
  double t_read_ns;    /* analog integrate (one DAC step, all driven rows), ns */
  double t_adc_ns;     /* one ADC conversion, ns */
  double t_digital_ns; /* one digital vector op per element (accumulate/permute/shift-add), ns */
  double t_program_ns; /* program one row of cells (one-time setup), ns */
  double e_adc_pj;     /* energy per ADC conversion, pJ */
  double e_dac_pj;     /* energy per driven row per DAC step, pJ */
  double e_cell_pj;    /* energy per active (driven) cell per DAC step, pJ */
  double e_digital_pj; /* energy per digital element op (add, shift-add, move), pJ */
  double a_array_mm2;  /* area of one m x m array incl. drivers, mm^2 */
  double a_adc_mm2;    /* area of one ADC, mm^2 */
  double a_dac_mm2;    /* area of one row DAC, mm^2 */
  double a_digital_mm2; /* area of the per-array digital unit (shift-add, accumulate), mm^2 */
  /* Cost model (mapping/cost.c, docs/cost-model.md). a_array_mm2 is per PHYSICAL m x m crossbar
   * (a logical array is map_hw_slices() of them); e_adc_pj and a_adc_mm2 hold at adc_ref_bits and
   * are scaled to adc_bits by map_hw_adc_energy_pj / map_hw_adc_area_mm2. */
  int adc_ref_bits;         /* resolution at which e_adc_pj and a_adc_mm2 were measured, bits */
  double adc_fom_s_db;      /* Schreier FOM of the thermal-noise-limited ADC energy term, dB */
  double adc_area_cap_frac; /* share of a_adc_mm2 in the 2^B capacitor DAC at adc_ref_bits */
  double e_buffer_pj;       /* energy per activation/partial-sum word read or written, pJ */
  int digital_lanes;        /* elements a digital op (ACCUM/PERMUTE/DIGITAL) does per t_digital */
  /* Options of the mapping/cost pipeline, not of the device: */
  int fold_permute; /* 1: a Monarch's first factor writes its outputs straight to their permuted
                       addresses (strided CONVERT), no PERMUTE between the factors */
  int adc_lossless; /* 1: cost each mapping's ADCs (energy, area) at the lossless resolution of
                       its schedule's rows per conversion instead of adc_bits (cimsim still
                       simulates adc_bits) */
  /* Periphery conventions (docs/analog-model.md, "Periphery conventions"); 0 = moncim's own. */
  int adc_per_pair;      /* 1: G+ - G- subtracted in analog, one signed conversion per pair */
  int in_sign_magnitude; /* 1: inputs as sign + magnitude (in_bits - 1 magnitude bits in DAC
                            steps of +-digits); 0: two's complement */
  int in_range_static;   /* 1: one input scale per factor, calibrated, with clipping; 0: per
                            vector max|x| */
  int adc_cal_per_slice; /* calibrated ADC ranges: 1: one range per converted weight slice shared
                            by all DAC steps; 0: one per (DAC step, converted column) */
} map_hw;

/* Cited defaults (256 x 256, ISAAC-derived numbers, see configs/hw-default.json). */
void map_hw_default(map_hw *hw);
/* Defaults, then the JSON file's fields, then validation. Unknown keys, wrong types and values
 * out of range fail with "FILE: field 'x': expected ...". Keys starting with '_' are comments. */
int map_hw_load(map_hw *hw, const char *path);
/* Checks every field; `origin` (file name or "hw") prefixes the message. */
int map_hw_validate(const map_hw *hw, const char *origin);
/* ADCs per logical array: ceil(cols * slices / cols_per_adc). A logical column c of slice j is
 * physical bitline j*cols + c (slice-major, as ISAAC's one crossbar per slice), bitline t is
 * converted by ADC t / cols_per_adc. */
int map_hw_adcs_per_array(const map_hw *hw);
/* Conversions the busiest ADC makes per DAC step when logical columns col0..col0+ncols-1 are read
 * (all slices): sets the CONVERT time dac_steps * (t_read + this * t_adc). */
int map_hw_max_conv_per_adc(const map_hw *hw, int col0, int ncols);
/* Adds to cnt[g] (map_hw_adcs_per_array entries) the conversions ADC g makes per DAC step when
 * logical columns col0..col0+ncols-1 are read: the one statement of which ADC converts which
 * bitline (map_hw_max_conv_per_adc and the cost model's ADC time use it). */
void map_hw_add_adc_conversions(const map_hw *hw, int col0, int ncols, int *cnt);
int map_hw_slices(const map_hw *hw); /* device columns per weight (slices x pair) */
/* Converted lines per weight: map_hw_slices(), halved when adc_per_pair subtracts each G+/G-
 * pair before one ADC conversion. Conversions, ADC counts and ADC sharing count these. */
int map_hw_conv_lines(const map_hw *hw);
/* ADC conversions of one CONVERT of `ncols` logical columns over all DAC steps and converted
 * lines: the one place that says how many conversions a logical column costs (cost model and
 * stats); which ADC makes them is map_hw_add_adc_conversions. */
long long map_hw_conversions(const map_hw *hw, int ncols);
/* DAC steps per input: ceil(in_bits / dac_bits), or ceil((in_bits - 1) / dac_bits) magnitude
 * steps under in_sign_magnitude (the sign sets the drive polarity, it takes no step). */
int map_hw_dac_steps(const map_hw *hw);
/* ADC bits for a lossless conversion of a line summing `rows` devices of one slice over one
 * DAC step: ceil(log2(rows * (2^cell_bits - 1) * (2^dac_bits - 1) * b + 1)), b = 2 when the
 * line is bipolar (adc_per_pair or in_sign_magnitude: signed sums over a range +-max), else 1. */
int map_hw_lossless_adc_bits(const map_hw *hw, int rows);
/* ADC energy per conversion (pJ) at `bits`: Walden term (2^B) plus Schreier thermal term (4^B),
 * normalised so that bits == adc_ref_bits gives e_adc_pj exactly (docs/cost-model.md). */
double map_hw_adc_energy_pj(const map_hw *hw, int bits);
/* ADC area (mm^2) at `bits`: SAR structure, a 2^B capacitor DAC (share adc_area_cap_frac at the
 * reference) plus B-proportional comparator/SAR logic; equals a_adc_mm2 at adc_ref_bits. */
double map_hw_adc_area_mm2(const map_hw *hw, int bits);
/* Prints the hardware as JSON (same keys the loader accepts). */
int map_hw_write_json(const map_hw *hw, FILE *f);

/* ================================================================ model description */

#define MAP_MAX_PRED 4 /* most layers one layer reads from (attention output: q, k, v) */

/* Linear-layer kinds; the first four equal mon_lin_kind (model.h). */
typedef enum {
  MAP_QKV = 0,   /* self-attention q,k,v: fused (3 d, d) as GPT-2, or one of three (d, d) */
  MAP_ATTN_OUT,  /* attention output: (d, d) */
  MAP_FC,        /* MLP up: (d_ff, d) */
  MAP_PROJ,      /* MLP down: (d, d_ff) */
  MAP_CROSS_Q,   /* cross-attention query (decoder): (d, d) */
  MAP_CROSS_KV,  /* cross-attention key or value (from the encoder output): (d, d) */
  MAP_CROSS_OUT, /* cross-attention output: (d, d) */
  MAP_KINDS
} map_kind;
const char *map_kind_name(map_kind k); /* "qkv", "attn_out", "fc", "proj", "xq", "xkv", "xout" */

typedef struct {
  char name[64]; /* e.g. "h.3.mlp.c_fc" or "enc.3.fc" */
  int layer;     /* transformer block index (encoder then decoder for enc-dec models) */
  map_kind kind;
  int out, in;    /* y = W x, W (out, in) */
  int is_monarch; /* 1: Monarch with the shapes below; 0: dense */
  int nblocks;    /* Monarch nblocks (0 if dense) */
  int k, q, p;    /* w1 shape (k, q, p), k*p = in_pad (Monarch only) */
  int l, s, r;    /* w2 shape (l, s, r), l*r = k*q, l*s = out_pad (Monarch only) */
  int tokens;     /* vectors per inference through this layer (sequence length) */
  /* Dataflow: the layers whose output this layer's input is computed from (indices < own index;
   * the scheduler makes its first command wait for theirs). map_model_add sets the previous layer
   * (a chain); map_model_transformer sets the real graph (q/k/v read the block input, ...). */
  int npred;
  int pred[MAP_MAX_PRED];
  int same_input; /* an earlier layer that reads the very same input vector (BERT's q for k and
                     v, cross k for cross v), or -1: lets a mapping share its input rows */
  /* Weights, borrowed (or owned by the model after map_model_random_weights); NULL for shape-only
   * descriptions (mapping, scheduling and stats need no weights; the executor does). */
  const float *w;         /* dense W (out, in) row-major, when !is_monarch */
  const mon_monarch *mon; /* factors, when is_monarch */
  const float *b;         /* bias (out) or NULL: added digitally (DIGITAL BIAS command) */
} map_layer;

typedef struct {
  char name[64]; /* "bert-large", "zoo-shape", a model dir, ... */
  int nlayers;   /* entries in layer[] (linear layers, not transformer blocks) */
  map_layer *layer;
  int cap; /* allocated entries */
  /* storage owned by the model (random weights), freed by map_model_destroy */
  mon_monarch *own_mon; /* nlayers entries, zero where unused */
  float **own_w;        /* nlayers entries, NULL where unused */
} map_model;

/* nblocks value meaning "sqrt(in) per layer" (the rank-1 classic Monarch for square layers). */
#define MAP_NBLOCKS_SQRT (-1)

void map_model_init(map_model *mm, const char *name);
void map_model_destroy(map_model *mm);
/* Appends a layer. With w/mon NULL it is shape-only: nblocks > 0 gives a Monarch of
 * MonarchLinear(in, out, nblocks) shape (nblocks must divide in and out: error names "nblocks"),
 * nblocks == MAP_NBLOCKS_SQRT uses floor(sqrt(in)), nblocks == 0 a dense layer. With mon given,
 * its shapes are taken as they are (padding allowed); with w given, dense. Pointers are borrowed.
 */
int map_model_add(map_model *mm, const char *name, int layer, map_kind kind, int out, int in,
                  int nblocks, int tokens, const float *w, const mon_monarch *mon, const float *b);
/* Sets the layers whose output layer `layer` reads (npred <= MAP_MAX_PRED, each < layer);
 * npred = 0 makes it a source (reads only the model input). */
int map_model_set_pred(map_model *mm, int layer, int npred, const int *pred);
/* Shape-only transformer: nlayers blocks of QKV, ATTN_OUT, FC, PROJ (d, d_ff); `cross` adds the
 * cross-attention linears (q, k, v, out) to the decoder blocks (the last `cross` blocks);
 * fused_qkv: one (3d, d) linear (GPT-2 c_attn) instead of three (d, d) (BERT, BART).
 * Dataflow: q/k/v read the block input (the previous block's MLP output; the first encoder and
 * the first decoder block read the embeddings), attention output reads q, k, v; cross q reads
 * the self-attention output, cross k/v the encoder output (last encoder block's MLP); cross
 * output reads them; fc reads the last attention output, proj reads fc. */
int map_model_transformer(map_model *mm, const char *name, int nlayers, int d, int d_ff, int tokens,
                          int nblocks, int cross, int fused_qkv);
/* Named workloads: "bert-large" (24 x d 1024 ff 4096, 512 tokens, separate q/k/v),
 * "gpt2-medium" (24 x d 1024 ff 4096, 1024 tokens, fused c_attn), "bart-large" (12 encoder + 12
 * decoder blocks, d 1024 ff 4096, separate q/k/v, decoder cross-attention, 1024 tokens),
 * "zoo-shape" (moncim's zoo: 4 x d 256 ff 1024, fused c_attn (768, 256), 256 tokens). */
int map_model_workload(map_model *mm, const char *name, int nblocks);
/* nblocks value meaning "as the model's config.json says" (monarch_nblocks; 0 = dense). */
#define MAP_NBLOCKS_CONFIG (-2)
/* A workload name (above) or a model directory with a GPT-2 config.json (shape only: n_layer,
 * n_embd, n_inner, fused c_attn, n_positions tokens). */
int map_model_from_spec(map_model *mm, const char *spec, int nblocks);
/* Gives every layer without weights random ones (counter-based, keyed by seed and layer): owned. */
int map_model_random_weights(map_model *mm, uint64_t seed);

/* ================================================================ mapping */

/* How DenseMap assigns the slots of a pool of arrays (tiles of one shape) to tiles. */
typedef enum {
  MAP_DENSE_INTERLEAVED = 0, /* tile j of the pool on array j mod A (A = the pool's arrays): a
                                factor's blocks sit on distinct arrays and run in parallel */
  MAP_DENSE_CONTIGUOUS       /* fill one array with consecutive tiles before opening the next:
                                a factor's blocks queue on one array */
} map_dense_layout;
const char *map_dense_layout_name(map_dense_layout d); /* "interleaved", "contiguous" */

typedef enum { MAP_LINEAR = 0, MAP_SPARSE, MAP_DENSE, MAP_AUTO, MAP_NSTRATEGIES } map_strategy_id;
typedef enum { MAP_OBJ_LATENCY = 0, MAP_OBJ_ENERGY } map_objective;

/* Which matrix of a layer a factor is. */
typedef enum {
  MAP_F_DENSE = 0, /* the whole W (a dense layer, or a Monarch materialised by Linear) */
  MAP_F_W1,        /* Monarch blkdiag1 */
  MAP_F_W2         /* Monarch blkdiag2 */
} map_factor_kind;

/* A block-diagonal matrix to place: nb blocks of (bo, bi); block b maps inputs
 * in_addr + b*bi .. + bi-1 to outputs out_addr + b*bo .. (a dense W is nb = 1, (out, in)). */
typedef struct {
  int layer; /* index into map_model.layer */
  map_factor_kind which;
  map_strategy_id strategy; /* strategy that placed it (never MAP_AUTO) */
  int nb, bo, bi;           /* blocks and block shape (out_b, in_b) */
  int th;                   /* rows of one input tile: rows, or with a DenseMap row split
                               min(rows, ceil(bi / dense_row_split)) */
  int ti;                   /* input tiles per block: ceil(bi / th); > 1 needs ACCUM */
  int64_t in_addr;          /* buffer address of its input vector (nb*bi floats) */
  int64_t out_addr;         /* buffer address of its output vector (nb*bo floats) */
  int64_t part_addr;        /* partial sums (ti * nb*bo floats) when ti > 1, else -1 */
} map_factor;

/* A placed rectangle of one block: inputs i0..i0+ni-1 and outputs o0..o0+no-1 of block `block`
 * of factor `factor`, stored on array `array` at rows row0..row0+ni-1, cols col0..col0+no-1
 * (cell (row0 + i, col0 + o) = W_block[o0 + o][i0 + i]). ni <= rows, no <= cols. */
typedef struct {
  int factor; /* index into map_mapping.factor */
  int block;  /* block index within the factor */
  int i0, ni; /* input (row) range within the block */
  int o0, no; /* output (column) range within the block */
  int array;  /* array id, 0..narrays-1 */
  int row0, col0;
  int group; /* DenseMap: rotated block-diagonal (slot diagonal) index; else 0 */
  int step;  /* MVM index on its array; pieces with equal (array, step) run in one MVM */
} map_piece;

/* Per model layer: the strategy used and its buffer regions (floats). */
typedef struct {
  map_strategy_id strategy; /* Linear, SparseMap or DenseMap (Auto's choice) */
  int64_t x;                /* input (in; Monarch factors: k*p, tail zero-padded) */
  int64_t t, t2, u;         /* Monarch: stage-1 out (k*q), permuted (k*q), stage-2 out (l*s); -1 */
  int64_t y;                /* output (Monarch: l*s, first `out` valid) */
  int factor0, nfactors;    /* its factors: mapping.factor[factor0 .. +nfactors) in stage order */
  int x_from;               /* share_rows: the layer whose input region x this layer reads (its
                               x is that layer's), else -1 */
} map_layer_map;

typedef struct {
  map_strategy_id strategy; /* as requested (may be MAP_AUTO) */
  int rows, cols;           /* array size used */
  int narrays;
  int nfactors;
  map_factor *factor;
  int npieces;
  map_piece *piece; /* sorted by (array, step, row0) */
  int nlayers;
  map_layer_map *lmap;           /* per model layer */
  int64_t buf_len;               /* floats in the flat buffer address space */
  map_dense_layout dense_layout; /* as placed */
  int dense_row_split;           /* as placed (1 = none) */
  int shared_mvms;               /* MVMs whose driven rows feed blocks of several layers */
} map_mapping;

typedef struct {
  map_objective objective;       /* Auto: what to minimise */
  int budget_arrays;             /* Auto: at most this many arrays (0 = unlimited) */
  int budget_adcs;               /* Auto: at most this many ADCs (0 = unlimited) */
  map_dense_layout dense_layout; /* DenseMap slot assignment (also for Auto's DenseMap layers) */
  int dense_row_split; /* DenseMap: drive a block's rows in this many subsets (separate tiles,
                          partial sums added digitally) so a column sums fewer rows per
                          conversion; 0 or 1 = the whole block at once */
  int share_rows;      /* 1: layers that read the same input (map_layer.same_input) and are both
                          DenseMap read one input region, and the first-factor blocks of one input
                          segment share a row band of one array and run in ONE MVM (one DRIVE,
                          several blocks converted) */
} map_options;

/* The mapping and cost settings a study varies, by name: `moncim map --NAME` (dashes) and a
 * sweep's `option.NAME` parse them with the same map_settings_set. v[k] = -1: not given (the
 * hardware file's value for the hw fields, map_options' default for the others). */
typedef enum {
  MAP_SET_DENSE_LAYOUT = 0, /* map_options.dense_layout: interleaved | contiguous */
  MAP_SET_DENSE_ROW_SPLIT,  /* map_options.dense_row_split: 1..65536 */
  MAP_SET_SHARE_ROWS,       /* map_options.share_rows: 0 | 1 */
  MAP_SET_DIGITAL_LANES,    /* map_hw.digital_lanes: 1..2^20 */
  MAP_SET_FOLD_PERMUTE,     /* map_hw.fold_permute: 0 | 1 */
  MAP_SET_ADC_LOSSLESS,     /* map_hw.adc_lossless: 0 | 1 */
  MAP_NSETTINGS
} map_setting_id;
typedef struct {
  int v[MAP_NSETTINGS]; /* indexed by map_setting_id; dense_layout as map_dense_layout */
} map_settings;
extern const char *const map_setting_names[MAP_NSETTINGS]; /* "dense_layout", ... */
void map_settings_init(map_settings *s);                   /* every setting not given */
int map_setting_find(const char *name);                    /* map_setting_id, or -1 */
/* Parses one setting into s: 0, or -1 + "expected ..., got 'VALUE'" (or an unknown name). */
int map_settings_set(map_settings *s, const char *name, const char *value);
/* Overrides the given settings in hw and o (either may be NULL). */
void map_settings_apply(const map_settings *s, map_hw *hw, map_options *o);

/* A mapping strategy (STYLE.md rule 10). `place` appends pieces (and arrays) for the given
 * factors of mp, all of which it must place; factors keep their buffer addresses. */
typedef struct {
  const char *name; /* "linear", "sparse", "dense", "auto" */
  map_strategy_id id;
  const char *summary;
  int (*place)(map_mapping *mp, const int *factors, int nfactors, const map_hw *hw);
} map_strategy;

extern const map_strategy map_strategies[MAP_NSTRATEGIES]; /* indexed by map_strategy_id */
const map_strategy *map_strategy_find(const char *name);   /* NULL + mon_fail if unknown */

/* Places every layer of mm on hw's arrays with strategy st. Auto needs weights of no layer. */
int map_build(map_mapping *mp, const map_model *mm, const map_hw *hw, map_strategy_id st,
              const map_options *opt);
void map_mapping_destroy(map_mapping *mp);

/* ================================================================ command stream */

typedef enum {
  MAP_OP_PROGRAM = 0, /* write piece `piece` into array cells rows x cols (one-time prefix) */
  MAP_OP_DRIVE,       /* MVM `step`: drive rows row0.. with buf[src + (row - row0)] */
  MAP_OP_CONVERT,     /* MVM `step`: integrate + ADC + shift-add columns col0..; buf[dst + (c-col0)
                         * s] = sum over the MVM's driven rows of cell(row, c) * drive(row), with
                         s = stride if stride > 1 (folded permutation), else 1 */
  MAP_OP_SHIFT_ADD,   /* reserved: DAC steps and slices are recombined inside CONVERT */
  MAP_OP_ACCUM,       /* buf[dst + j] = sum_{t < count} buf[src + t*stride + j], j < ncols */
  MAP_OP_PERMUTE,     /* transpose: buf[dst + c*nrows + r] = buf[src + r*ncols + c] */
  MAP_OP_DIGITAL,     /* sub-op map_dig on buf[dst .. dst + ncols) */
  MAP_NOPS
} map_op;

typedef enum {
  MAP_DIG_BARRIER = 0, /* the layer's input X is ready (attention, LayerNorm, GELU done
                          outside the stream); no data effect */
  MAP_DIG_ZERO,        /* buf[dst + j] = 0 (input padding) */
  MAP_DIG_BIAS         /* buf[dst + j] += bias of `layer` [j] */
} map_dig;

const char *map_op_name(map_op op); /* "PROGRAM", "DRIVE", ... */

/* One command. Unused fields are 0 (-1 for array/piece/step). */
typedef struct {
  int32_t op;          /* map_op */
  int32_t sub;         /* DIGITAL: map_dig; else 0 */
  int32_t array;       /* PROGRAM, DRIVE, CONVERT: array id; else -1 */
  int32_t row0, nrows; /* PROGRAM/DRIVE: rows; CONVERT: rows summed by these columns (the piece);
                          PERMUTE: rows of the source grid */
  int32_t col0, ncols; /* PROGRAM/CONVERT: columns; PERMUTE: cols of the source grid;
                          ACCUM/DIGITAL: vector length */
  int64_t src, dst;    /* buffer addresses (floats); -1 if unused */
  int32_t count;       /* ACCUM: number of partial vectors; CONVERT: rows a column sums */
  int64_t stride;      /* ACCUM: distance between partial vectors; CONVERT: between the outputs
                          of consecutive columns when > 1 (floats) */
  int32_t layer;       /* model layer the command serves */
  int32_t factor;      /* mapping factor (PROGRAM/DRIVE/CONVERT/ACCUM), else -1 */
  int32_t piece;       /* PROGRAM/CONVERT: piece index; else -1 */
  int32_t step;        /* DRIVE/CONVERT: global MVM id (DRIVEs + CONVERTs of one MVM share it) */
  int32_t ndeps;       /* dependencies: dep[dep0 .. dep0 + ndeps) (command ids, all < own id) */
  int64_t dep0;
} map_cmd;

/* Where a layer's input and output live in the buffer (for the caller and the simulator). */
typedef struct {
  int64_t x; /* input X: in floats (Monarch: in_pad = k*p, the tail zeroed by the stream) */
  int64_t y; /* output Y: out floats valid (Monarch: l*s written) */
  int in, out;
  int32_t first; /* id of the layer's first per-token command (its BARRIER) */
  int32_t last;  /* id of the command that completes Y */
} map_io;

typedef struct {
  int32_t ncmds;
  map_cmd *cmd;     /* cmd[i] has id i; PROGRAM commands first (ids 0..nprogram-1) */
  int32_t nprogram; /* the one-time programming prefix; the rest is one token */
  int64_t ndeps;
  int32_t *dep;    /* dependency ids */
  int32_t nmvm;    /* MVMs per token (distinct `step` values) */
  int64_t buf_len; /* floats in the buffer address space */
  int nlayers;
  map_io *io; /* per model layer */
} map_stream;

/* Emits the stream of one token. Dependencies: data (RAW on buffer ranges), array order (an
 * MVM's DRIVEs depend on the previous MVM's CONVERTs on the same array) and dataflow (each
 * layer's BARRIER depends on the `last` of the layers in its map_layer.pred). PROGRAM commands have
 * no dependencies; the per-token part assumes the programming prefix has completed. */
int map_schedule(map_stream *cs, const map_mapping *mp, const map_model *mm, const map_hw *hw);
void map_stream_destroy(map_stream *cs);

/* Text: one command per line (format in docs/mapping.md). Binary: "MONCIMTR" header, then
 * little-endian fixed-size records (docs/mapping.md); read back with map_stream_read_binary. */
int map_stream_write_text(const map_stream *cs, FILE *f);
int map_stream_write_binary(const map_stream *cs, FILE *f);
int map_stream_read_binary(map_stream *cs, FILE *f, const char *origin);

/* ================================================================ statistics */

typedef struct {
  int arrays;
  int adcs;              /* arrays x ADCs per array */
  long long cells_used;  /* programmed logical cells */
  long long cells_avail; /* arrays x rows x cols */
  double utilization;    /* cells_used / cells_avail */
  int max_active_rows;   /* max rows summed by one column in one conversion (from the stream) */
  int adc_bits_lossless; /* map_hw_lossless_adc_bits(max_active_rows) */
  long long mvms;        /* MVMs per token (array activations) */
  long long conversions; /* ADC conversions per token (map_hw_conversions of every CONVERT) */
  long long crit_mvms;   /* MVMs on the longest dependency chain per token */
  long long permutes;    /* PERMUTE commands per token */
  long long dense_params, model_params; /* weights if dense / as given (Monarch) */
  long long dense_flops, model_flops;   /* per token, a multiply-add = 2 FLOPs */
} map_stats;

/* Structural statistics of a mapping and its stream (cs may be NULL: then it is scheduled here).
 * Costs (time, energy, area) are map_cost_compute's alone. */
int map_stats_compute(map_stats *st, const map_mapping *mp, const map_model *mm, const map_hw *hw,
                      const map_stream *cs);

/* ================================================================ cost model */

/* Per token (one vector through every linear layer); fields, units and meaning in
 * MON_COST_METRICS (base/metrics.h), the one list the job record and HDF5 columns share. */
typedef struct {
  MON_COST_METRICS(MON_METRIC_FIELD)
} map_cost;

/* THE cost model of moncim (docs/cost-model.md): Auto ranks with it, every report prints it.
 * Cost of one token through the stream, and optionally per model layer (layer may be NULL, else
 * mm->nlayers entries). Totals: latency = critical path of a list schedule (= latency_array +
 * latency_adc + latency_digital exactly), energy and area = sums of their components. Per layer:
 * energy = its commands' (sums to the total); latency = its span on the schedule (first start to
 * last finish; layers that run concurrently under dataflow overlap) with the critical path's
 * parts inside it; area = each array's area shared by programmed cells (sums to the total);
 * arrays/crossbars/adcs/dacs = the arrays it touches (shared arrays count in every layer on
 * them); utilization = its cells / cells of those arrays. Fails naming the field or command when
 * hw, mapping and stream disagree. */
int map_cost_compute(map_cost *total, map_cost *layer, const map_stream *cs, const map_mapping *mp,
                     const map_model *mm, const map_hw *hw);
/* Maps (map_build), schedules and costs mm in one call: the number Auto minimises. */
int map_cost_of(map_cost *total, const map_model *mm, const map_hw *hw, map_strategy_id st,
                const map_options *opt);

/* ================================================================ reference executor */

typedef struct {
  int max_active_rows; /* observed: programmed rows summed by one column in one MVM */
  long long macs;      /* analog multiply-adds performed */
  long long cells_programmed;
} map_ref_info;

/* Runs the stream with ideal devices and infinite-resolution converters on float data.
 * x[layer] (in floats) are the layer inputs (layers that share one input region, map_layer_map
 * x_from, must be given equal vectors), y[layer] (out floats) receive the outputs.
 * Fails (naming the command) on any address out of range, a cell programmed twice, a buffer
 * element written twice, a read of a never-written element, a column whose driven rows hold cells
 * of more than one piece, or a dependency that does not precede its command. Needs weights. */
int map_ref_run(const map_stream *cs, const map_mapping *mp, const map_model *mm,
                const float *const *x, float *const *y, map_ref_info *info);

#endif
