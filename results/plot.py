#!/usr/bin/env python3
"""Figures of a moncim sweep file (results/SCHEMA.md), as PNG files.

    python3 results/plot.py OUT.h5 [-o DIR]      (default DIR: OUT_plots/ next to OUT.h5)

Writes
  accuracy_vs_adc_bits.png   bits/byte vs ADC bits, one panel per model and nblocks, one line per
                             mapping / DAC bits / noise (mean over seeds, bars = std)
  energy_breakdown.png       energy per token split by component   \\  per model, nblocks and
  latency_breakdown.png      latency per token split by component   } mapping, at the largest
  area_breakdown.png         area split by component               /  ADC and smallest DAC bits
  pareto_accuracy_area.png   bits/byte vs area of every configuration, the Pareto front drawn

Needs only Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def s(x):
    return x.decode() if isinstance(x, bytes) else str(x)


def load(path):
    with h5py.File(path, "r") as f:
        jobs = f["jobs"][()]
        name = s(f.attrs.get("sweep_name", os.path.basename(path)))
    return jobs[jobs["status"] == 1], name


def configs(jobs):
    """Mean over seeds per configuration (every axis but the seed)."""
    keys = ("model", "hardware", "nblocks", "mapping", "noise", "dac_bits", "adc_bits")
    groups = {}
    for r in jobs:
        groups.setdefault(tuple(s(r[k]) if jobs.dtype[k].kind == "S" else int(r[k])
                                for k in keys), []).append(r)
    out = []
    for k, rows in groups.items():
        d = dict(zip(keys, k))
        for col in jobs.dtype.names:
            if jobs.dtype[col].kind == "f":
                v = np.array([r[col] for r in rows], dtype=float)
                d[col] = float(np.mean(v))
                d[col + "_sd"] = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        out.append(d)
    return out


def accuracy_plot(cfg, name, path):
    panels = sorted({(c["model"], c["nblocks"]) for c in cfg})
    ncol = min(3, len(panels))
    nrow = (len(panels) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.8 * nrow), squeeze=False)
    for ax, (model, nb) in zip(axes.flat, panels):
        sub = [c for c in cfg if c["model"] == model and c["nblocks"] == nb]
        lines = sorted({(c["mapping"], c["dac_bits"], c["noise"], c["hardware"]) for c in sub})
        for ln in lines:
            pts = sorted((c["adc_bits"], c["bpc"], c["bpc_sd"]) for c in sub
                         if (c["mapping"], c["dac_bits"], c["noise"], c["hardware"]) == ln)
            x, y, e = zip(*pts)
            label = "%s dac=%d %s" % ln[:3] + ("" if ln[3] == "default" else " " + ln[3])
            ax.errorbar(x, y, yerr=e, marker="o", ms=3, capsize=2, label=label)
        ref = np.nanmean([c["bpc_float"] for c in sub])
        ax.axhline(ref, color="k", ls="--", lw=1, label="float")
        ax.set_title("%s, nblocks=%d" % (model, nb))
        ax.set_xlabel("ADC bits")
        ax.set_ylabel("bits / byte (lower is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("%s: accuracy vs ADC resolution" % name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def breakdown_plot(cfg, name, path, total, parts, unit, what):
    adc = max(c["adc_bits"] for c in cfg)
    dac = min(c["dac_bits"] for c in cfg)
    noise = sorted({c["noise"] for c in cfg})[0]
    sub = sorted((c for c in cfg if c["adc_bits"] == adc and c["dac_bits"] == dac
                  and c["noise"] == noise),
                 key=lambda c: (c["model"], c["hardware"], c["nblocks"], c["mapping"]))
    labels = ["%s\nnb=%d %s" % (c["model"], c["nblocks"], c["mapping"]) for c in sub]
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(sub) + 2), 4.5))
    bottom = np.zeros(len(sub))
    for col in parts:
        v = np.array([c.get(col, np.nan) for c in sub])
        if np.all(np.isnan(v)):
            continue
        v = np.nan_to_num(v)
        ax.bar(range(len(sub)), v, bottom=bottom, label=col.split("_")[1])
        bottom += v
    if np.all(bottom == 0):  # no split available: the totals alone
        ax.bar(range(len(sub)), [c[total] for c in sub], label="total")
    ax.set_xticks(range(len(sub)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("%s (%s)" % (what, unit))
    ax.set_title("%s: %s by component (adc=%d, dac=%d, noise=%s)" % (name, what, adc, dac, noise))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_plot(cfg, name, path):
    pts = [c for c in cfg if np.isfinite(c["bpc"]) and np.isfinite(c["area_mm2"])]
    fig, ax = plt.subplots(figsize=(7, 5))
    for m in sorted({c["mapping"] for c in pts}):
        sub = [c for c in pts if c["mapping"] == m]
        ax.scatter([c["area_mm2"] for c in sub], [c["bpc"] for c in sub], s=12, alpha=0.6,
                   label=m)
    front, best = [], np.inf
    for c in sorted(pts, key=lambda c: (c["area_mm2"], c["bpc"])):
        if c["bpc"] < best:
            best = c["bpc"]
            front.append(c)
    ax.step([c["area_mm2"] for c in front], [c["bpc"] for c in front], where="post", color="k",
            lw=1.5, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("area (mm^2)")
    ax.set_ylabel("bits / byte (lower is better)")
    ax.set_title("%s: accuracy vs area" % name)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("-o", "--outdir")
    a = ap.parse_args()
    outdir = a.outdir or os.path.splitext(a.file)[0] + "_plots"
    os.makedirs(outdir, exist_ok=True)
    jobs, name = load(a.file)
    if len(jobs) == 0:
        sys.exit("plot.py: %s has no done jobs" % a.file)
    cfg = configs(jobs)
    written = []
    if any(np.isfinite(c["bpc"]) for c in cfg):
        accuracy_plot(cfg, name, os.path.join(outdir, "accuracy_vs_adc_bits.png"))
        pareto_plot(cfg, name, os.path.join(outdir, "pareto_accuracy_area.png"))
        written += ["accuracy_vs_adc_bits.png", "pareto_accuracy_area.png"]
    else:
        print("plot.py: no accuracy columns (cost-only sweep): accuracy plots skipped",
              file=sys.stderr)
    breakdown_plot(cfg, name, os.path.join(outdir, "energy_breakdown.png"), "energy_pj",
                   ["energy_dac_pj", "energy_array_pj", "energy_adc_pj", "energy_shiftadd_pj",
                    "energy_digital_pj", "energy_buffer_pj"], "pJ per token", "energy")
    breakdown_plot(cfg, name, os.path.join(outdir, "latency_breakdown.png"), "latency_ns",
                   ["latency_array_ns", "latency_adc_ns", "latency_digital_ns"], "ns per token",
                   "latency")
    breakdown_plot(cfg, name, os.path.join(outdir, "area_breakdown.png"), "area_mm2",
                   ["area_array_mm2", "area_adc_mm2", "area_dac_mm2", "area_digital_mm2"], "mm^2",
                   "area")
    written += ["energy_breakdown.png", "latency_breakdown.png", "area_breakdown.png"]
    print("plot.py: wrote %s in %s" % (", ".join(written), outdir))


if __name__ == "__main__":
    main()
