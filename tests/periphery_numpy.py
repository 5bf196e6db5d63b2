#!/usr/bin/env python3
"""An independent NumPy restatement of cimsim's noise-free MVM, for every periphery convention.

For each combination of
  ADC per device column | after the analog G+ - G- subtraction (signed, one per pair),
  inputs in two's complement | sign-magnitude,
  input range dynamic (per vector) | static (one calibrated scale, clipping),
  ADC range full scale | calibrated per (DAC step, line) | calibrated per line (all steps),
`moncim mvm` runs a 256 x 256 matrix on 64 vectors (8-bit weights on 2-bit cells, 8-bit inputs on
1-bit DACs, 8-bit ADC, one 256 x 256 array), calibrating on a second, disjoint batch
(--calibrate-on), and its output must equal the equations of docs/analog-model.md evaluated here
with plain array arithmetic. The ADC rounding is evaluated in float32 (as the model states: the
column sum, the range offset and the LSB are single-precision numbers), so codes agree exactly;
the tolerance only covers the final float32 rounding of y and the order of the shift-add.
Also: the static input range clips exactly the elements beyond the calibration batch's max, and
the reported clip fraction matches.

usage: periphery_numpy.py --moncim BIN --work DIR
"""
import argparse
import itertools
import math
import os
import subprocess
import sys

import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from safetensors_f32 import st_read, st_write  # noqa: E402

ROWS = 256
W_BITS, CELL_BITS, IN_BITS, DAC_BITS, ADC_BITS = 8, 2, 8, 1, 8
L = 2**CELL_BITS - 1
ADC_PCT, IN_PCT = 99.99, 100.0


def percentile_kth(values, pct):
    """The ceil(pct/100 n)-th smallest value (the calibration rule of docs/analog-model.md)."""
    v = np.sort(np.asarray(values, dtype=np.float32).ravel())
    idx = min(max(math.ceil(pct / 100.0 * v.size) - 1, 0), v.size - 1)
    return float(v[idx])


def quantize_inputs(X, scale):
    qmax = 2 ** (IN_BITS - 1) - 1
    q = np.rint(X.astype(np.float64) / scale[:, None])
    clipped = int(np.sum(np.abs(q) > qmax))
    return np.clip(q, -qmax, qmax).astype(np.int64), clipped


def digits(q, signmag):
    """List over DAC steps k of (digit matrix (B, n), dmin, dmax); x = sum_k 2^k d_k."""
    out = []
    if signmag:
        m, sg = np.abs(q), np.sign(q)
        for k in range(IN_BITS - 1):
            out.append((sg * ((m >> k) & 1), -1, 1))
    else:
        u = q & (2**IN_BITS - 1)
        for k in range(IN_BITS - 1):
            out.append(((u >> k) & 1, 0, 1))
        out.append((-((u >> (IN_BITS - 1)) & 1), -1, 0))
    return out


def lines(Q, pair):
    """Level matrices (n, out) of the converted lines and their shift-add weights."""
    S = math.ceil((W_BITS - 1) / CELL_BITS)
    mag = np.abs(Q)
    res = []
    for s in range(S):
        lev = (mag >> (CELL_BITS * s)) & L
        gp, gm = np.where(Q > 0, lev, 0), np.where(Q < 0, lev, 0)
        if pair:
            res.append(((gp - gm).T, 2.0 ** (CELL_BITS * s), -L, L))
        else:
            res.append((gp.T, 2.0 ** (CELL_BITS * s), 0, L))
            res.append((gm.T, -(2.0 ** (CELL_BITS * s)), 0, L))
    return res


def adc(sums, lo, hi):
    """Full-scale or clipped range [lo, hi] in level units, ADC_BITS bits, float32 rounding."""
    nlev = hi - lo
    codes = 2.0**ADC_BITS - 1
    lb = math.ceil(math.log2(nlev + 1) - 1e-12)
    if ADC_BITS >= lb:  # a power-of-two fraction of a level: integer sums are exact
        delta = 2.0 ** (lb - ADC_BITS)
    elif lo == -hi:  # signed, symmetric: codes -(2^(B-1) - 1) .. 2^(B-1) - 1 around an exact 0
        delta = hi / (2.0 ** (ADC_BITS - 1) - 1)
    else:
        delta = nlev / codes
    lo32, d32 = np.float32(lo), np.float32(delta)
    inv32 = np.float32(1.0) / d32
    t = np.floor((sums.astype(np.float32) - lo32) * inv32 + np.float32(0.5))
    t = np.clip(t, np.float32(0), np.float32(codes))
    return float(lo32) + t.astype(np.float64) * float(d32)


def restate(W, X, Xc, pair, signmag, static, adc_mode):
    qmax_w, qmax_in = 2 ** (W_BITS - 1) - 1, 2 ** (IN_BITS - 1) - 1
    sw = float(np.max(np.abs(W.astype(np.float64)))) / qmax_w
    Q = np.clip(np.rint(W.astype(np.float64) / sw), -qmax_w, qmax_w).astype(np.int64)
    ln = lines(Q, pair)

    def scales(A):
        if static:
            P = percentile_kth(np.abs(Xc), IN_PCT)
            return np.full(A.shape[0], P / qmax_in if P > 0 else 1.0)
        m = np.max(np.abs(A), axis=1).astype(np.float64)
        return np.where(m > 0, m / qmax_in, 1.0)

    sx, _ = None, None
    sx = scales(X)
    qx, clipped = quantize_inputs(X, sx)
    # calibration: ideal line sums of the calibration batch, |.| percentile per (step, line) or
    # per line over all steps
    clip = {}
    if adc_mode != "fullscale":
        qc, _ = quantize_inputs(Xc, scales(Xc))
        dc = digits(qc, signmag)
        for j, (G, _, _, _) in enumerate(ln):
            per_k = [np.abs(d @ G) for d, _, _ in dc]
            if adc_mode == "slice":
                P = max(percentile_kth(np.concatenate([p.ravel() for p in per_k]), ADC_PCT), 1)
                for k in range(len(dc)):
                    clip[k, j] = math.ceil(P)
            else:
                for k in range(len(dc)):
                    clip[k, j] = math.ceil(max(percentile_kth(per_k[k], ADC_PCT), 1))
    acc = np.zeros((X.shape[0], W.shape[0]))
    for k, (d, dmin, dmax) in enumerate(digits(qx, signmag)):
        for j, (G, wj, lmin, lmax) in enumerate(ln):
            prods = [dmin * lmin, dmin * lmax, dmax * lmin, dmax * lmax]
            lo, hi = min(prods) * ROWS, max(prods) * ROWS
            if (k, j) in clip:
                lo, hi = max(lo, -clip[k, j]), min(hi, clip[k, j])
            acc += 2.0**k * wj * adc(d @ G, lo, hi)
    return acc * sw * sx[:, None], clipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moncim", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(14)
    W = (rng.standard_normal((ROWS, ROWS)) * 0.05).astype(np.float32)
    # heavy-tailed activations (Student t, 4 dof) so that static ranges clip and calibrated ADC
    # ranges matter; the calibration batch is drawn separately
    X = rng.standard_t(4, (64, ROWS)).astype(np.float32)
    Xc = rng.standard_t(4, (64, ROWS)).astype(np.float32)
    wp, xp, cp = (os.path.join(a.work, n) for n in ("w.safetensors", "x.safetensors", "xc.safetensors"))
    st_write(wp, {"m": W})
    st_write(xp, {"x": X})
    st_write(cp, {"x": Xc})
    fails = 0
    for pair, signmag, static, adc_mode in itertools.product(
        (0, 1), (0, 1), (0, 1), ("fullscale", "step", "slice")
    ):
        out = os.path.join(a.work, "y.safetensors")
        cmd = [a.moncim, "mvm", "--weights", wp, "--tensor", "m", "--inputs", xp, "--out", out,
               "--mapping", "linear", "--array-size", str(ROWS), "--w-bits", str(W_BITS),
               "--cell-bits", str(CELL_BITS), "--in-bits", str(IN_BITS), "--dac-bits",
               str(DAC_BITS), "--adc-bits", str(ADC_BITS), "--adc-per", "pair" if pair else "column",
               "--in-encoding", "signmag" if signmag else "twos",
               "--in-range", "static" if static else "dynamic", "--calibrate-on", cp]
        if adc_mode != "fullscale":
            cmd += ["--adc-range", "calibrated", "--adc-cal", adc_mode]
        r = subprocess.run(cmd, capture_output=True, text=True)
        name = f"adc_per={'pair' if pair else 'column'} in={'signmag' if signmag else 'twos'} " \
               f"range={'static' if static else 'dynamic'} adc={adc_mode}"
        if r.returncode:
            print(f"FAIL {name}: moncim mvm exited {r.returncode}: {r.stderr}")
            fails += 1
            continue
        got = st_read(out)
        y = got["y"][0].astype(np.float64)
        ref, clipped = restate(W, X, Xc, pair, signmag, static, adc_mode)
        err = float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))
        cf = float(got["__metadata__"]["in_clip_frac"])
        want_cf = clipped / X.size if static else 0.0
        ok = err < 2e-6 and abs(cf - want_cf) < 1e-12 and (not static or clipped > 0)
        yf = X.astype(np.float64) @ W.T.astype(np.float64)
        rel = float(np.linalg.norm(y - yf) / np.linalg.norm(yf))
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max|y - numpy| / max|numpy| = {err:.2e}, "
              f"clipped {cf:.5f} (numpy {want_cf:.5f}), rel. error vs float {rel:.4f}")
        fails += not ok
    print(f"{fails} failures")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
