#!/usr/bin/env python3
"""The periphery-convention table of docs/analog-model.md: relative error vs float of
`moncim mvm` for every combination of ADC position (per device column / after the analog
G+ - G- subtraction), input encoding (two's complement / sign-magnitude), input range (dynamic /
static) and ADC range (full scale / calibrated per (step, line) / calibrated per line), noise-free
and with 5 % proportional programming + 1 % proportional read noise.

Workload (the matrix of tests/periphery_numpy.py): W 256 x 256 ~ N(0, 0.05^2), 64 evaluation
vectors and a disjoint batch of 64 calibration vectors (--calibrate-on), both Student-t with 4
degrees of freedom (heavy-tailed, like transformer activations); one 256 x 256 array (Linear),
8-bit weights on 2-bit cells, 8-bit inputs on 1-bit DACs, 8-bit ADC. Noisy runs: 8 repeats
(--repeat) of read noise on one programmed chip per seed, seeds 1..4; the error is
||y - y_float||_F / ||y_float||_F over all vectors and repeats, the mean over seeds.

usage: scripts/periphery-table.py [--moncim build/bench/moncim] [--work /tmp/moncim-periphery]
Prints the Markdown table on stdout.
"""
import argparse
import itertools
import os
import subprocess
import sys

import numpy as np
from safetensors_f32 import st_read, st_write

NOISE = "prog-prop:sigma=0.05+read-prop:sigma=0.01"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moncim", default="build/bench/moncim")
    ap.add_argument("--work", default="/tmp/moncim-periphery")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(14)  # the same draws as tests/periphery_numpy.py
    W = (rng.standard_normal((256, 256)) * 0.05).astype(np.float32)
    X = rng.standard_t(4, (64, 256)).astype(np.float32)
    Xc = rng.standard_t(4, (64, 256)).astype(np.float32)
    wp, xp, cp, yp = (os.path.join(a.work, n) for n in ("w.st", "x.st", "xc.st", "y.st"))
    st_write(wp, {"m": W})
    st_write(xp, {"x": X})
    st_write(cp, {"x": Xc})

    def run(pair, signmag, static, adc, noise, seed, repeat):
        cmd = [a.moncim, "mvm", "--weights", wp, "--tensor", "m", "--inputs", xp, "--out", yp,
               "--mapping", "linear", "--array-size", "256", "--w-bits", "8", "--cell-bits", "2",
               "--in-bits", "8", "--dac-bits", "1", "--adc-bits", "8",
               "--adc-per", "pair" if pair else "column",
               "--in-encoding", "signmag" if signmag else "twos",
               "--in-range", "static" if static else "dynamic", "--calibrate-on", cp,
               "--seed", str(seed), "--repeat", str(repeat)]
        if adc != "fullscale":
            cmd += ["--adc-range", "calibrated", "--adc-cal", adc]
        if noise:
            cmd += ["--noise", noise]
        subprocess.run(cmd, check=True, capture_output=True)
        t = st_read(yp)
        y, ref = t["y"].astype(np.float64), t["y_ref"].astype(np.float64)
        return float(np.linalg.norm(y - ref[None]) / (np.linalg.norm(ref) * np.sqrt(y.shape[0])))

    print("| ADC per | inputs | input range | ADC range | noise-free | 5 % prog + 1 % read |")
    print("|---|---|---|---|---|---|")
    for pair, signmag, static, adc in itertools.product(
        (0, 1), (0, 1), (0, 1), ("fullscale", "step", "slice")
    ):
        e0 = run(pair, signmag, static, adc, "", 1, 1)
        en = np.mean([run(pair, signmag, static, adc, NOISE, s, 8) for s in (1, 2, 3, 4)])
        adcs = {"fullscale": "full scale", "step": "calibrated per step", "slice": "calibrated per slice"}
        enc = "sign-magnitude" if signmag else "two's complement"
        print(f"| {'pair (signed)' if pair else 'device column'} | {enc} | "
              f"{'static' if static else 'dynamic'} | {adcs[adc]} | {e0:.4f} | {en:.4f} |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
