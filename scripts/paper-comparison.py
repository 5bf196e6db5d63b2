#!/usr/bin/env python3
"""Regenerates docs/paper-comparison.md from jobs/paper.sweep.

Reads the workloads (`models`), Monarch block counts (`nblocks`) and digital lanes
(`digital_lanes`) of the sweep file, runs
`moncim map --json` for each under the settings every table names (the one cost model of
docs/cost-model.md), and writes the page: every quantitative claim we hold from arXiv 2510.11192
beside moncim's figure, with where the claim comes from and why the figures differ.

    scripts/paper-comparison.py [--moncim BIN] [--sweep FILE] [--out FILE] [--check]

--check regenerates into memory and fails (exit 1) if FILE differs: the page must be what the
code computes. Standard library only; no numbers are typed in here except the paper's claims
(CLAIMS, each with its source).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Sources of the paper's figures. Only the abstract is quoted text of the paper itself.
SRC_ABSTRACT = "abstract (quoted)"
SRC_SUMMARY = "alphaxiv overview (a summary, not the paper)"
SRC_ISSUE = "issue 11's list (our reading of the paper's HTML; not quoted)"

ABSTRACT_QUOTES = [
    "\"reducing the model size by over 6.7x, while still maintaining acceptable accuracy\" "
    "(about dense-to-sparse fine-tuning)",
    "\"our approach improves CIM array utilization by over 50%, achieving more than 4x reduction "
    "in both memory footprint and the number of required floating-point operations\"",
]
SUMMARY_QUOTE = (
    "\"reduces the required CIM arrays by up to 87%, decreases inference latency by up to 1.74x, "
    "and lowers energy consumption by up to 1.74x compared to dense CIM baselines\"")


def ints(path, key, vals):
    """An integer axis of a sweep file: a, b, c and a..b ranges."""
    out = []
    for v in vals:
        try:
            if ".." in v:
                a, b = v.split("..")
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(v))
        except ValueError:
            sys.exit(f"{path}: field '{key}': '{v}' is not an integer or a..b")
    return out


def parse_sweep(path):
    """models, nblocks and digital_lanes of a sweep file (key = a, b, c; a..b ranges)."""
    axes = {}
    with open(path) as f:
        for no, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if "=" not in line:
                sys.exit(f"{path}:{no}: expected 'key = values'")
            k, v = (s.strip() for s in line.split("=", 1))
            axes[k] = [s.strip() for s in v.split(",") if s.strip()]
    for key in ("models", "nblocks", "digital_lanes"):
        if key not in axes:
            sys.exit(f"{path}: field '{key}' missing")
    models = []
    for m in axes["models"]:
        if not m.startswith("shape:"):
            continue  # accuracy models have no paper counterpart
        models.append(m[len("shape:"):])
    nbs = ints(path, "nblocks", axes["nblocks"])
    lanes = ints(path, "digital_lanes", axes["digital_lanes"])
    if not models:
        sys.exit(f"{path}: field 'models': no shape: workloads")
    if 0 in lanes:
        sys.exit(f"{path}: field 'digital_lanes': give the lanes (0 = the hardware's is not shown)")
    return models, nbs, lanes


class Runner:
    def __init__(self, moncim):
        self.moncim = moncim
        self.tmp = tempfile.mkdtemp(prefix="moncim-paper-")

    def hw_file(self, **fields):
        path = os.path.join(self.tmp, "hw-" + "-".join(f"{k}{v}" for k, v in
                                                       sorted(fields.items())) + ".json")
        with open(path, "w") as f:
            json.dump(fields, f)
        return path

    def map(self, model, nb, *opts, hw=None):
        cmd = [self.moncim, "map", "--model", model, "--nblocks", str(nb), "--json"]
        if hw:
            cmd += ["--hw", self.hw_file(**hw)]
        cmd += [str(o) for o in opts]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        d = json.loads(out)
        d["by"] = {s["strategy"]: s for s in d["strategies"]}
        d["cmd"] = "moncim map --model %s --nblocks %d%s%s" % (
            model, nb, "".join(" " + str(o) for o in opts),
            "".join(f" (hw {k}={v})" for k, v in sorted((hw or {}).items())))
        return d


def lat(d, s):
    return d["by"][s]["cost"]["latency_ns_per_token"]


def energy(d, s):
    return d["by"][s]["cost"]["energy_pj_per_token"]


def rng(vals, fmt):
    lo, hi = min(vals), max(vals)
    return fmt % lo if fmt % lo == fmt % hi else (fmt % lo) + " .. " + (fmt % hi)


def build(args):
    models, nbs, lanes = parse_sweep(args.sweep)
    R = Runner(args.moncim)
    base = {(m, nb): R.map(m, nb) for m in models for nb in nbs}
    shared = {(m, nb): R.map(m, nb, "--strategy", "dense", "--share-rows", 1)
              for m in models for nb in nbs}
    var = {}
    for m in models:
        for nb in nbs:
            for ln in lanes:
                for fold in (0, 1):
                    var[(m, nb, ln, fold)] = R.map(m, nb, "--digital-lanes", ln,
                                                   "--fold-permute", fold)
    # ADC resolution: lossless bits of each mapping's schedule, DenseMap also with its rows
    # driven in 4 subsets
    adc = {(m, nb, k): R.map(m, nb, "--adc-lossless", 1, "--dense-row-split", k)
           for m in models for nb in nbs for k in (1, 4)}
    # ADCs per array: cols_per_adc 256 / 128 / 64 = 8 / 16 / 32 ADCs per 256 x 256 array (8
    # device columns per weight), at 16 digital lanes
    share = {(m, nb, cpa): R.map(m, nb, "--digital-lanes", 16, hw={"cols_per_adc": cpa})
             for m in models for nb in nbs for cpa in (256, 128, 64)}
    # the other defaults marked as assumptions in configs/hw-default.json, varied one at a time
    # (t_program_ns enters no per-token number)
    assume = [("w_bits", 8, (4, 8)), ("in_bits", 8, (4, 8)), ("differential", 1, (0, 1)),
              ("adc_area_cap_frac", 0.5, (0.25, 0.75)), ("digital_lanes", 1, (1, 16))]
    am, anb = models[0], nbs[-1]
    asm = {(k, v): R.map(am, anb, hw={k: v}) for k, _, vals in assume for v in vals}
    d0 = base[(models[0], nbs[0])]
    L = []
    w = L.append
    w("# DenseMap, SparseMap and Linear: moncim beside the paper")
    w("")
    w("<!-- generated by scripts/paper-comparison.py from jobs/paper.sweep; do not edit by hand "
      "(make paper-comparison) -->")
    w("")
    w("The paper is J. P. C. de Lima, M. Dietrich, J. Castrillon, A. A. Khan, \"Efficient "
      "In-Memory Acceleration of Sparse Block Diagonal LLMs\", arXiv 2510.11192 v1 (2025). Only "
      "its abstract is quoted in our sources:")
    w("")
    for q in ABSTRACT_QUOTES:
        w(f"- {q}")
    w("")
    w(f"A summary of it (alphaxiv overview) says: {SUMMARY_QUOTE}. Every other figure of the "
      "paper below comes from issue 11's list (our reading of the paper's HTML version and that "
      "overview), is marked so, and is not a quotation. No setting below is presented as the "
      "paper's: moncim's settings are its own defaults (configs/hw-default.json, every number "
      "sourced there) unless a table says otherwise.")
    w("")
    w("## Settings")
    w("")
    w(f"- Workloads and Monarch block counts: `models` and `nblocks` of jobs/paper.sweep: "
      f"{', '.join(models)} at nblocks {', '.join(map(str, nbs))} (shape-only: BERT-large 512 "
      "tokens, separate q/k/v; GPT-2-medium 1024 tokens, fused c_attn; BART-large 12 + 12 "
      "blocks, 1024 tokens, decoder cross-attention). Only the linear layers are Monarch.")
    w(f"- Hardware: `{d0['hw']}` ({d0['array_rows']} x {d0['array_cols']} arrays, "
      f"{d0['adcs_per_array']} ADCs per array, ISAAC-derived numbers; docs/cost-model.md). The "
      "paper's simulator (IBM 3D-SiM with 512 x 512 tiles, per the issue's list) is not "
      "available to us.")
    w(f"- Mapping: DenseMap `{d0['dense_layout']}` layout (a factor's blocks spread over the "
      "pool's arrays), dataflow between layers (q/k/v overlap), one cost model "
      "(docs/cost-model.md) for every number and for Auto.")
    w("- Unless a table says otherwise: digital_lanes 1 (a scalar digital unit, an assumption), "
      "fold_permute 0, ADCs costed at adc_bits = 8.")
    w("- Every figure is reproducible with the command in its table (add `--json` for all "
      "fields); the whole page with `make paper-comparison`.")
    w("")

    # ---- claims table
    def over(fn):
        return [fn(base[(m, nb)]) for m in models for nb in nbs]

    def holds(fn, src=None):
        """'holds at nblocks ...' over the nblocks where fn holds for every workload."""
        src = src or (lambda m, nb: base[(m, nb)])
        ok = [nb for nb in nbs if all(fn(src(m, nb)) for m in models)]
        return "holds at nblocks " + ", ".join(map(str, ok)) if ok else "holds at no nblocks here"

    ar = lambda d, s: d["by"][s]["arrays"]
    ut = lambda d, s: d["by"][s]["utilization"]
    fewer_l = over(lambda d: 100 * (1 - ar(d, "dense") / ar(d, "linear")))
    fewer_s = over(lambda d: 100 * (1 - ar(d, "dense") / ar(d, "sparse")))
    util_d = over(lambda d: 100 * ut(d, "dense"))
    util_s = over(lambda d: 100 * ut(d, "sparse"))
    util_x = over(lambda d: ut(d, "dense") / ut(d, "sparse"))
    util_gain = over(lambda d: 100 * (ut(d, "dense") - ut(d, "sparse")))
    pred = over(lambda d: d["param_reduction"])
    fred = over(lambda d: d["flop_reduction"])

    def lat_ratio(s, ln, fold):
        return [lat(var[(m, nb, ln, fold)], "linear") / lat(var[(m, nb, ln, fold)], s)
                for m in models for nb in nbs]

    e_ratio = over(lambda d: energy(d, "linear") / energy(d, "dense"))
    e_ratio_s = over(lambda d: energy(d, "linear") / energy(d, "sparse"))
    w("## The paper's claims beside moncim's figures")
    w("")
    w("Ranges run over the workloads x nblocks above.")
    w("")
    w("| claim | source | paper | moncim | why they differ |")
    w("|---|---|---|---|---|")
    w(f"| DenseMap arrays vs Linear | {SRC_ISSUE}; {SRC_SUMMARY} | 87% fewer (\"up to 87%\") | "
      f"{rng(fewer_l, '%.1f')}% fewer ({holds(lambda d: ar(d, 'dense') <= 0.13 * ar(d, 'linear'))}) | moncim's DenseMap fills every slot (capacity minimum), "
      "so the saving is the Monarch density (2/nblocks for square layers): it grows with "
      "nblocks; the paper's nblocks per workload is not in our sources |")
    w(f"| DenseMap arrays vs SparseMap | {SRC_ISSUE} | over 73% fewer | "
      f"{rng(fewer_s, '%.1f')}% fewer ({holds(lambda d: ar(d, 'dense') < 0.27 * ar(d, 'sparse'))}) | SparseMap uses b/m of an array (b = block side), "
      "DenseMap all of it: the ratio is about b/m, so it grows with nblocks |")
    w(f"| average utilization | {SRC_ISSUE} | 78.8% (about 3x SparseMap) | DenseMap "
      f"{rng(util_d, '%.1f')}%, SparseMap {rng(util_s, '%.1f')}% ({rng(util_x, '%.2f')}x) | "
      "block sides divide 256 for every workload here, so DenseMap's slots tile an array "
      "exactly; the paper's 78.8% is an average whose composition (strategies, tile size) our "
      "sources do not give |")
    w(f"| utilization improvement | {SRC_ABSTRACT} | over 50% | DenseMap - SparseMap = "
      f"{rng(util_gain, '%.1f')} points ({holds(lambda d: ut(d, 'dense') - ut(d, 'sparse') > 0.5)}) | "
      "at nblocks 4 a block is as wide as an array, so both strategies place the same |")
    w(f"| memory footprint and FLOPs | {SRC_ABSTRACT} | more than 4x lower | "
      f"parameters {rng(pred, '%.2f')}x, FLOPs/token {rng(fred, '%.2f')}x fewer "
      f"({holds(lambda d: d['param_reduction'] > 4 and d['flop_reduction'] > 4)}) | a property "
      "of the Monarch shapes (density about 2/nblocks), not of the mapping |")
    for ln in lanes:
        w(f"| SparseMap latency vs Linear, digital_lanes {ln} | {SRC_ISSUE} | 1.59x faster | "
          f"{rng(lat_ratio('sparse', ln, 0), '%.2f')}x (folded permutation: "
          f"{rng(lat_ratio('sparse', ln, 1), '%.2f')}x) | Monarch "
          f"{'faster' if min(lat_ratio('sparse', ln, 0)) > 1 else 'slower' if max(lat_ratio('sparse', ln, 0)) < 1 else 'faster or slower'} "
          "than Linear here; see 'Latency' below |")
        w(f"| DenseMap latency vs Linear, digital_lanes {ln} | {SRC_ISSUE}; {SRC_SUMMARY} | "
          f"1.73x faster (\"up to 1.74x\") | {rng(lat_ratio('dense', ln, 0), '%.2f')}x "
          f"(folded: {rng(lat_ratio('dense', ln, 1), '%.2f')}x) | see 'Latency' below |")
    w(f"| DenseMap energy vs Linear | {SRC_ISSUE}; {SRC_SUMMARY} | 1.74x lower (\"up to "
      f"1.74x\") | {rng(e_ratio, '%.2f')}x lower (SparseMap {rng(e_ratio_s, '%.2f')}x) | "
      "ADC conversions dominate moncim's energy and scale with the weights a token touches; "
      "DenseMap pays more array energy than SparseMap because every programmed cell on a "
      "driven row conducts (docs/cost-model.md) |")
    bits = {s: [adc[(m, nb, 1)]["by"][s]["adc_bits_lossless"] for m in models for nb in nbs]
            for s in ("linear", "sparse", "dense")}
    rows = {s: [adc[(m, nb, 1)]["by"][s]["max_active_rows"] for m in models for nb in nbs]
            for s in ("linear", "sparse", "dense")}
    bits4 = [adc[(m, nb, 4)]["by"]["dense"]["adc_bits_lossless"] for m in models for nb in nbs]
    rows4 = [adc[(m, nb, 4)]["by"]["dense"]["max_active_rows"] for m in models for nb in nbs]
    w(f"| ADC resolution Linear / SparseMap / DenseMap | {SRC_ISSUE} | 8 / 5 / 3 bits (log2 of "
      f"the rows a column sums) | lossless bits {rng(bits['linear'], '%d')} / "
      f"{rng(bits['sparse'], '%d')} / {rng(bits['dense'], '%d')} for "
      f"{rng(rows['linear'], '%d')} / {rng(rows['sparse'], '%d')} / {rng(rows['dense'], '%d')} "
      f"rows; DenseMap with its rows in 4 subsets: {rng(bits4, '%d')} bits for "
      f"{rng(rows4, '%d')} rows | moncim counts levels, log2(rows x (2^cell_bits - 1) x "
      "(2^dac_bits - 1) + 1): 2-bit cells add about 1.6 bits to log2(rows); its rows per "
      "conversion are the largest block side (the MLP's 4096-input factor), not the typical one |")
    w(f"| ADCs per array | {SRC_ISSUE} | swept 4 .. 32: DenseMap wins at high sharing, SparseMap "
      "is best at 32 per array | see 'ADC sharing' below | |")
    w("")

    # ---- per workload table
    w("## Per workload (digital_lanes 1, no folding)")
    w("")
    w("Done-when check of issue 11: DenseMap latency within 1.2x of SparseMap's, with no more "
      "arrays and no lower utilization than before (the capacity-minimum packing is unchanged: "
      "same arrays, 100% utilization).")
    w("")
    w("The last columns are DenseMap with shared row bands (`--share-rows 1`: q/k/v, cross k/v "
      "blocks of one input segment in one MVM). A shared MVM drives the segment once (less "
      "array and DAC energy, fewer MVMs) but converts all its blocks through the array's ADCs, "
      "so it can be slower; where a tile shape leaves fewer than 3 column slots per band "
      "(128-wide blocks) nothing is shared.")
    w("")
    w("| workload | nblocks | arrays L / S / D | util S / D % | latency us L / S / D | D / S "
      "| energy nJ L / S / D | command | D shared: MVMs, us, nJ |")
    w("|---|---|---|---|---|---|---|---|---|")
    for m in models:
        for nb in nbs:
            d = base[(m, nb)]
            w(f"| {m} | {nb} | {ar(d, 'linear')} / {ar(d, 'sparse')} / {ar(d, 'dense')} | "
              f"{100 * ut(d, 'sparse'):.1f} / {100 * ut(d, 'dense'):.1f} | "
              f"{lat(d, 'linear') / 1e3:.1f} / {lat(d, 'sparse') / 1e3:.1f} / "
              f"{lat(d, 'dense') / 1e3:.1f} | {lat(d, 'dense') / lat(d, 'sparse'):.2f} | "
              f"{energy(d, 'linear') / 1e3:.0f} / {energy(d, 'sparse') / 1e3:.0f} / "
              f"{energy(d, 'dense') / 1e3:.0f} | `{d['cmd']}` | "
              f"{shared[(m, nb)]['by']['dense']['mvms_per_token']:.0f} (of "
              f"{d['by']['dense']['mvms_per_token']:.0f}), "
              f"{lat(shared[(m, nb)], 'dense') / 1e3:.1f}, "
              f"{energy(shared[(m, nb)], 'dense') / 1e3:.0f} |")
    w("")

    # ---- latency vs digital lanes
    w("## Latency: how the verdict moves with digital_lanes and permutation folding")
    w("")
    w("`digital_lanes` (elements a digital op handles per 0.83 ns cycle) is an assumption: "
      "ISAAC's digital units are per-tile shift-and-add and output registers, not a vector unit "
      "of known width, so moncim shows the verdict at "
      + ", ".join(map(str, lanes[:-1])) + f" and {lanes[-1]} lanes (`digital_lanes` of "
      "jobs/paper.sweep). Latency speedup over "
      "Linear (Linear latency / strategy latency), without / with the folded permutation "
      "(`--fold-permute 1`: the first factor writes its outputs straight to their permuted "
      "addresses).")
    w("")
    w("| workload | nblocks | lanes | Linear us | SparseMap x | DenseMap x | Auto x | "
      "DenseMap x folded |")
    w("|---|---|---|---|---|---|---|---|")
    for m in models:
        for nb in nbs:
            for ln in lanes:
                d, f = var[(m, nb, ln, 0)], var[(m, nb, ln, 1)]
                li = lat(d, "linear")
                w(f"| {m} | {nb} | {ln} | {li / 1e3:.1f} | {li / lat(d, 'sparse'):.2f} | "
                  f"{li / lat(d, 'dense'):.2f} | {li / lat(d, 'auto'):.2f} | "
                  f"{lat(f, 'linear') / lat(f, 'dense'):.2f} |")
    w("")
    w("Why moncim's Monarch mappings lose to Linear at 16 lanes or more, while the paper reports "
      "them 1.6-1.7x faster: in moncim every array has its own ADCs and all arrays run at once, "
      "so Linear computes a layer in ONE MVM step (all tiles in parallel) plus a digital "
      "accumulation of the input tiles, while a Monarch layer needs TWO dependent MVM steps "
      "(its factors) plus the permutation. Linear's only handicap is that accumulation: with a "
      "scalar digital unit (1 lane) it dominates and the Monarch mappings win; with a vector "
      "unit it vanishes. The paper's Linear baseline is likely limited by resources moncim does "
      "not model (shared ADCs or tiles reused over time); we have no quoted setting to "
      "reproduce it.")
    w("")

    # ---- ADC sharing
    w("## ADC sharing (digital_lanes 16)")
    w("")
    w("ADCs per 256 x 256 array = 2048 device columns / cols_per_adc (8 device columns per "
      "weight: 4 slices of 2 bits x a differential pair). Latency (us) per strategy:")
    w("")
    w("| workload | nblocks | ADCs/array | Linear | SparseMap | DenseMap | best |")
    w("|---|---|---|---|---|---|---|")
    for m in models:
        for nb in nbs:
            for cpa in (256, 128, 64):
                d = share[(m, nb, cpa)]
                ls = {s: lat(d, s) for s in ("linear", "sparse", "dense")}
                best = min(ls, key=ls.get)
                w(f"| {m} | {nb} | {d['adcs_per_array']} | {ls['linear'] / 1e3:.1f} | "
                  f"{ls['sparse'] / 1e3:.1f} | {ls['dense'] / 1e3:.1f} | {best} |")
    w("")
    w("A DenseMap MVM converts one block's columns, a SparseMap MVM every block on its array: "
      "fewer ADCs per array (more sharing) serialise SparseMap's conversions more, which is the "
      "direction the paper reports.")
    w("")

    # ---- other assumptions
    w(f"## The other assumed defaults ({am}, nblocks {anb})")
    w("")
    w("Each default that configs/hw-default.json marks as an assumption, varied alone (the rest "
      "at their defaults); latency us, energy nJ and area mm^2 per token for Linear / SparseMap "
      "/ DenseMap, and which strategy wins each.")
    w("")
    w("| field | value | latency L / S / D | energy L / S / D | area L / S / D | fastest, "
      "lowest energy, smallest |")
    w("|---|---|---|---|---|---|")
    for k, dflt, vals in assume:
        for v in vals:
            d = asm[(k, v)]
            ss = ("linear", "sparse", "dense")
            la = {x: lat(d, x) for x in ss}
            en = {x: energy(d, x) for x in ss}
            ea = {x: d["by"][x]["cost"]["area_mm2"] for x in ss}
            w(f"| {k} | {v}{' (default)' if v == dflt else ''} | "
              f"{' / '.join('%.1f' % (la[x] / 1e3) for x in ss)} | "
              f"{' / '.join('%.0f' % (en[x] / 1e3) for x in ss)} | "
              f"{' / '.join('%.2f' % ea[x] for x in ss)} | {min(la, key=la.get)}, "
              f"{min(en, key=en.get)}, {min(ea, key=ea.get)} |")
    w("")
    w("Only digital_lanes moves a verdict here. w_bits and differential set the device columns "
      "per weight (ADCs and conversions scale together, so the ratios hold); in_bits sets the "
      "DAC steps of every mapping alike; adc_area_cap_frac only matters when ADCs are costed at "
      "another resolution than adc_ref_bits (the ADC table below).")
    w("")

    # ---- ADC resolution per mapping
    w("## ADC resolution per mapping (`--adc-lossless 1`)")
    w("")
    w("Each mapping's ADCs are costed (energy, area) at the lossless resolution of the rows its "
      "schedule sums per conversion; `--dense-row-split 4` drives each DenseMap block's rows "
      "in 4 subsets (partial sums added digitally).")
    w("")
    w("| workload | nblocks | rows L / S / D / D split 4 | bits L / S / D / D split 4 | ADC "
      "energy nJ L / S / D / D split 4 | area mm^2 L / S / D / D split 4 | latency us D / D "
      "split 4 |")
    w("|---|---|---|---|---|---|---|")
    for m in models:
        for nb in nbs:
            a1, a4 = adc[(m, nb, 1)], adc[(m, nb, 4)]
            cols = [a1["by"]["linear"], a1["by"]["sparse"], a1["by"]["dense"], a4["by"]["dense"]]
            w(f"| {m} | {nb} | {' / '.join(str(c['max_active_rows']) for c in cols)} | "
              f"{' / '.join(str(c['cost']['adc_bits_costed']) for c in cols)} | "
              f"{' / '.join('%.0f' % (c['cost']['energy_adc_pj'] / 1e3) for c in cols)} | "
              f"{' / '.join('%.2f' % c['cost']['area_mm2'] for c in cols)} | "
              f"{cols[2]['cost']['latency_ns_per_token'] / 1e3:.1f} / "
              f"{cols[3]['cost']['latency_ns_per_token'] / 1e3:.1f} |")
    w("")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moncim", default=os.path.join(ROOT, "build", "bench", "moncim"))
    ap.add_argument("--sweep", default=os.path.join(ROOT, "jobs", "paper.sweep"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "paper-comparison.md"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not os.access(args.moncim, os.X_OK):
        sys.exit(f"paper-comparison: --moncim {args.moncim}: not an executable (make build)")
    text = build(args)
    if args.check:
        try:
            with open(args.out) as f:
                old = f.read()
        except OSError as e:
            sys.exit(f"paper-comparison: {args.out}: {e.strerror}")
        if old != text:
            sys.exit(f"paper-comparison: {args.out} differs from what the code computes "
                     "(make paper-comparison)")
        return
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
