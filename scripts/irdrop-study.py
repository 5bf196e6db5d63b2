#!/usr/bin/python3
"""IR-drop study (docs/analog-model.md, "IR drop"): fast model vs exact nodal solution, and the
output error of a real zoo layer versus wire resistance, for Linear, SparseMap and DenseMap.

Runs `moncim mvm` on layer h.0.attn.c_attn of models/kjv-nb16 with its real inputs (ln_1 of the
token + position embeddings of held-out text, the book of Ruth) for every mapping x array size x
r_wire x IR model, and prints Markdown tables:

  * relative output error caused by IR drop, ||y_ir - y_0|| / ||y_0|| (y_0: the same simulation
    without IR drop, 24-bit full-scale ADC so the converter hides nothing), exact and fast;
  * the fast model's deviation from the exact one relative to the exact IR-drop error,
    ||y_fast - y_exact|| / ||y_exact - y_0||, next to the largest first-order drop of a cell.

Usage: /usr/bin/python3 scripts/irdrop-study.py [--moncim build/bench/moncim] [--work DIR]
       [--sizes 64,128,256] [--rwire 0.1,0.35,1.59,5] [--vectors 32]

With --sweep OUT.h5 (a finished `moncim sweep jobs/irdrop.sweep -o OUT.h5`) it prints instead the
bits/char (and mean relative output error of the linear layers) per mapping and noise label; with
--merge A.json B.json ... one table of the rows of earlier runs (--json).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from safetensors_f32 import st_read, st_write


def layer_inputs(model_dir, nvec):
    """ln_1 of layer 0 on held-out text: the exact inputs of h.0.attn.c_attn."""
    m = st_read(os.path.join(model_dir, "model.safetensors"))
    vocab = [int(t) for t in m["__metadata__"]["moncim_vocab"].split(",")]
    tok = {b: i for i, b in enumerate(vocab)}
    text = subprocess.run(["bible", "-f", "ruth1:1-ruth1:22"], capture_output=True, text=True,
                          check=True).stdout
    text = "".join(l.split(" ", 1)[1] + "\n" for l in text.splitlines() if " " in l)
    ids = [tok[c] for c in text.encode() if c in tok][:128]
    pos = np.linspace(0, len(ids) - 1, nvec).astype(int)
    h = m["wte.weight"][[ids[p] for p in pos]] + m["wpe.weight"][pos]
    mu, var = h.mean(1, keepdims=True), h.var(1, keepdims=True)
    return (h - mu) / np.sqrt(var + 1e-5) * m["h.0.ln_1.weight"] + m["h.0.ln_1.bias"]


def mvm(args, mapping, size, noise, tag, reuse=False):
    out = os.path.join(args.work, f"y-{mapping}-{size}-{tag}.safetensors")
    if reuse and args.reuse and os.path.exists(out):
        y = st_read(out)
        return y["y"][0].astype(np.float64), float(y["__metadata__"].get("ir_drop_max", 0))
    cmd = [args.moncim, "mvm", "--weights", os.path.join(args.model, "model.safetensors"),
           "--tensor", args.tensor, "--inputs", os.path.join(args.work, "x.safetensors"),
           "--mapping", mapping, "--array-size", str(size), "--adc-bits", "24", "--out", out]
    if noise:
        cmd += ["--noise", noise]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"irdrop-study: {' '.join(cmd)} failed:\n{r.stderr}")
    y = st_read(out)
    return y["y"][0].astype(np.float64), float(y["__metadata__"].get("ir_drop_max", 0))


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def sweep_table(path):
    import h5py
    with h5py.File(path, "r") as f:
        j = f["jobs"][()]
    j = j[j["status"] == 1]
    labels = list(dict.fromkeys(x.decode() for x in j["noise"]))
    maps = list(dict.fromkeys(x.decode() for x in j["mapping"]))
    print(f"bits/char (mean relative output error of the linear layers), {path}\n")
    print("| noise | spec | " + " | ".join(maps) + " |")
    print("|---|---|" + "---|" * len(maps))
    for lab in labels:
        sel = j[j["noise"] == lab.encode()]
        spec = sel["noise_spec"][0].decode() if len(sel) else ""
        cells = []
        for m in maps:
            r = sel[sel["mapping"] == m.encode()]
            cells.append(f"{r['bpc'][0]:.4f} ({r['out_rel_err'][0]:.3f})" if len(r) else "")
        print(f"| {lab} | {spec or '-'} | " + " | ".join(cells) + " |")
    print(f"\nfloat model: {j['bpc_float'][0]:.4f} bits/char")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sweep", help="print the bits/char table of a finished jobs/irdrop.sweep")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="print one table of the rows of several --json outputs")
    ap.add_argument("--moncim", default="build/bench/moncim")
    ap.add_argument("--model", default="models/kjv-nb16")
    ap.add_argument("--tensor", default="h.0.attn.c_attn")
    ap.add_argument("--work", default="/tmp/moncim-irdrop-study")
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--rwire", default="0.1,0.35,1.59,5")
    ap.add_argument("--mappings", default="linear,sparse,dense")
    ap.add_argument("--vectors", type=int, default=32)
    ap.add_argument("--json", help="also write every row to this JSON file")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the ideal and exact outputs already in --work (same settings)")
    args = ap.parse_args()
    if args.sweep:
        return sweep_table(args.sweep)
    if args.merge:
        rows = [r for p in args.merge for r in json.load(open(p))]
        order = {m: i for i, m in enumerate(["linear", "sparse", "dense"])}
        rows.sort(key=lambda r: (order.get(r["mapping"], 9), r["size"], r["r_wire"]))
        return grid_table(rows)
    os.makedirs(args.work, exist_ok=True)
    st_write(os.path.join(args.work, "x.safetensors"), {"x": layer_inputs(args.model, args.vectors)})
    rows = []
    for mapping in args.mappings.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            y0, _ = mvm(args, mapping, size, "", "none", True)
            for r in [float(v) for v in args.rwire.split(",")]:
                ye, drop = mvm(args, mapping, size, f"ir:r_wire={r},model=exact", f"exact-{r}",
                               True)
                yf, _ = mvm(args, mapping, size, f"ir:r_wire={r},model=fast", f"fast-{r}")
                y1, _ = mvm(args, mapping, size, f"ir:r_wire={r},model=first", f"first-{r}")
                row = dict(mapping=mapping, size=size, r_wire=r, drop_max=drop,
                           err_exact=rel(ye, y0), err_fast=rel(yf, y0),
                           fast_dev=rel(yf, ye) / rel(ye, y0), first_dev=rel(y1, ye) / rel(ye, y0))
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print(f"{args.tensor} of {args.model}, {args.vectors} held-out input vectors, 24-bit ADC\n")
    grid_table(rows)


def grid_table(rows):
    print("| mapping | array | r_wire (ohm) | max first-order drop | IR error exact | IR error fast "
          "| fast vs exact | first order vs exact |")
    print("|---|---|---|---|---|---|---|---|")
    for w in rows:
        print(f"| {w['mapping']} | {w['size']} | {w['r_wire']:g} | {100 * w['drop_max']:.2f} % | "
              f"{w['err_exact']:.4f} | {w['err_fast']:.4f} | {100 * w['fast_dev']:.1f} % | "
              f"{100 * w['first_dev']:.1f} % |")
    print("\n(fast / first order vs exact: ||y_model - y_exact|| / ||y_exact - y_0||, the model's "
          "error as a fraction of the exact IR-drop error)")


if __name__ == "__main__":
    main()
