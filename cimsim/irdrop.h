/* cimsim internals: IR drop on the wires of a crossbar (docs/analog-model.md, "IR drop").
 *
 * One crossbar (one device column j of an array) is a resistive network: row i is driven at its
 * column-0 end through the driver resistance r_drv, then one wire segment r_wire per cell pitch;
 * column c is held at virtual ground at its row-(rows-1) end through r_sns and one wire segment
 * r_wire per cell pitch; cell (i, c) joins row node (i, c) to column node (i, c) with its
 * conductance G. Every row outside the MVM's DRIVEs gets 0 V from its driver (a zero digit), every
 * bitline is held at virtual ground, so the column currents are linear in the row voltages:
 * i_c = sum_i T_ic v_i. Without wire, driver and sense resistance T = G.
 *
 * The exact model solves the nodal equations (SPD, SuiteSparse CHOLMOD); the fast model solves
 * each row wire and each column wire exactly as a ladder with the other wires ideal, in
 * O(rows cols). The runner folds T into its blocks once (cim_ir_apply), so an MVM
 * costs the same SGEMM with or without IR drop, plus the rows driven outside a piece. */
#ifndef MONCIM_IRDROP_H
#define MONCIM_IRDROP_H

#include "runner_int.h"

typedef struct {
  int rows, cols; /* crossbar cells */
  double r_wire;  /* ohm per cell pitch, row and column wires */
  double r_drv;   /* ohm, row driver output */
  double r_sns;   /* ohm, column sense input (to virtual ground) */
} cim_ir_net;

/* Exact nodal solution for row voltages vin (rows, V) and cell conductances G (rows, cols, S):
 * row-wire and column-wire node voltages vr, vc (rows, cols, V; either may be NULL) and the
 * current into each column's sense amplifier icol (cols, A). Returns 0 / -1 after mon_fail. */
int cim_ir_solve(const cim_ir_net *n, const double *G, const double *vin, double *vr, double *vc,
                 double *icol);

/* IR-drop models (noise key ir:model=fast|exact|first). */
enum { CIM_IR_FAST = 0, CIM_IR_EXACT = 1, CIM_IR_FIRST = 2 };

/* T (rows, cols): column current of column c per volt on row i (the other rows at 0 V).
 * CIM_IR_EXACT: nodal solution (CHOLMOD, one factorization, rows right-hand sides).
 * CIM_IR_FIRST: first order in the resistances, T_ic = G_ic (1 - a_ic - b_ic) with a, b the
 * fractional drops on the row and column wire (cim_ir_drop_first_order).
 * CIM_IR_FAST: decoupled ladders, T_ic = G_ic v_ic f_ic: v the exact row-node voltage of row i
 * alone with every column node at 0 V, f the exact fraction of cell (i, c)'s current that reaches
 * the sense amplifier of column c with every row node at 0 V; all orders of each wire, missing
 * only their interaction (first order: 1 - a - b, like CIM_IR_FIRST).
 * *drop_max (may be NULL) gets max_ic (a_ic + b_ic). */
int cim_ir_transfer(const cim_ir_net *n, int model, const double *G, double *T, double *drop_max);

/* First-order fractional voltage lost by cell (i, c) per volt on its own row: a on the row wire
 * (its own row's currents), b on the column wire (the currents of every row of column c, per volt
 * on row i). Both (rows, cols). */
void cim_ir_drop_first_order(const cim_ir_net *n, const double *G, double *a, double *b);

/* Largest first-order fractional drop (cim_runner_ir_drop) up to which the fast model was checked
 * to stay within 5 % of the exact IR-drop error: scripts/irdrop-study.py on a kjv-nb16 layer
 * (64..256 arrays, three fill patterns, 0.1..15 ohm) found every point with a drop <= 1.8 within
 * 2.6 %, and 5.1 % at 5.4 (docs/analog-model.md, "IR drop"). Beyond it cim_ir_apply warns. */
#define CIM_IR_FAST_DROP_MAX 1.8

/* Replaces the levels of every block of R by its effective levels (T - Gmin) / dG and adds the
 * rows driven in the same MVM outside the block's piece (cblk.nx). No-op without `ir`. */
int cim_ir_apply(cim_runner *R);

/* The rows driven outside block K's piece, for vectors b0 .. b0+nb-1 of qin (as run_block):
 * O (nb * steps, nsl * nc) += their digits x K->Gx. Dx: scratch of nb * steps * K->nx floats. */
void cim_ir_foreign(const cim_runner *R, const cblk *K, const int32_t *qin, int b0, int nb,
                    float *Dx, float *O);

#endif
