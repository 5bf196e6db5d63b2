#!/usr/bin/env python3
"""Hugging Face GPT-2 checkpoints as downloaded: random checkpoints in the hub layout
(scripts/make-hf-checkpoint.py) load in moncim and give the logits of an independent NumPy
forward (tests/hf/gpt2_numpy.py) to 1e-4, for the three tensor namings, F32, F16 and BF16, with
the attention-mask buffers of older exports; `moncim eval` on them gives the bits per byte,
perplexity, top-1 and token count of the documented windowing; broken checkpoints are rejected
naming the file and the tensor / field.

usage: test_hf.py --moncim BIN --logits HF_LOGITS --src SRCDIR --work DIR [--full]
  default: 2 layers, n_embd 128, 2 heads, GPT-2's vocabulary and context (seconds);
  --full: GPT-2-small's full shape (12 layers, n_embd 768, 12 heads).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_numpy  # noqa: E402

TOL = 1e-4
TEXT = ("In the beginning God created the heaven and the earth. And the earth was without form, "
        "and void; and darkness was upon the face of the deep. And the Spirit of God moved upon "
        "the face of the waters. And God said, Let there be light: and there was light.\n")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        check.failures += 1
    return cond


check.failures = 0


def windows(P, T, S):
    """(start, first scored row) of every window of the documented windowing: targets 1..P."""
    if T > P:
        T, S = P, min(S, P)
    out, scored, k = [], 0, 0
    while True:
        st = min(k * S, P - T)
        out.append((st, scored - st))
        scored = st + T
        if st + T >= P:
            return out, T
        k += 1


def main():
    ap = argparse.ArgumentParser()
    for o in ("--moncim", "--logits", "--src", "--work"):
        ap.add_argument(o, required=True)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    gen = os.path.join(a.src, "scripts/make-hf-checkpoint.py")
    layers = [] if a.full else ["--n-layer", "2", "--n-embd", "128", "--n-head", "2"]
    variants = [("plain", "F32", []), ("transformer", "F32", ["--attn-bias"]),
                ("lm_head", "F32", []), ("transformer", "F16", []), ("plain", "BF16", [])]
    text_path = os.path.join(a.work, "text.txt")
    with open(text_path, "w") as f:
        f.write(TEXT)
    dirs = []
    for naming, dtype, extra in variants:
        d = os.path.join(a.work, f"{naming}-{dtype}")
        r = run([sys.executable, gen, "--out", d, "--shape", "small", "--dtype", dtype,
                 "--naming", naming, "--seed", "7"] + layers + extra)
        if not check(r.returncode == 0, f"make-hf-checkpoint {naming} {dtype}: {r.stderr}"):
            continue
        dirs.append(d)
        tok = run([a.moncim, "tokenize", "--model", d, "--text", text_path])
        ids = [int(x) for x in tok.stdout.split()]
        n = 48
        ids_path = os.path.join(a.work, "ids.txt")
        with open(ids_path, "w") as f:
            f.write(" ".join(map(str, ids[:n])))
        out = os.path.join(a.work, "logits.f32")
        r = run([a.logits, d, ids_path, out])
        if not check(r.returncode == 0, f"{d}: hf_logits: {r.stderr}"):
            continue
        c = np.fromfile(out, np.float32).reshape(n, -1)
        ref = gpt2_numpy.forward(d, np.array(ids[:n]))
        err = np.abs(c - ref).max()
        print(f"{naming:12s} {dtype:5s} {' '.join(extra):12s} max |logit - numpy| = {err:.2e} "
              f"(logits up to {np.abs(ref).max():.2f})")
        check(err <= TOL, f"{d}: logits differ from NumPy by {err:.3g} > {TOL}")

        # moncim eval: windows of 32 tokens every 12, all tokens scored once
        T, S = 32, 12
        r = run([a.moncim, "eval", "--model", d, "--text", text_path, "--context", str(T),
                 "--stride", str(S), "--json"])
        if not check(r.returncode == 0, f"{d}: moncim eval: {r.stderr}"):
            continue
        o = json.loads(r.stdout)
        P = len(ids) - 1
        nll, correct, nbytes = 0.0, 0, 0
        vocab = json.load(open(os.path.join(d, "vocab.json")))
        tok_bytes = {}
        be = {}  # GPT-2 bytes_to_unicode, inverted
        bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
        cs, k = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + k)
                k += 1
        be = {chr(c): b for b, c in zip(bs, cs)}
        for t, i in vocab.items():
            tok_bytes[i] = len(bytes(be[ch] for ch in t))
        wins, Tw = windows(P, T, S)
        for st, first in wins:
            lg = gpt2_numpy.forward(d, np.array(ids[st:st + Tw]))
            tg = np.array(ids[st + 1:st + Tw + 1])
            ce = gpt2_numpy.cross_entropy(lg, tg)
            for i in range(first, Tw):
                nll += ce[i]
                correct += int(lg[i].argmax() == tg[i])
                nbytes += tok_bytes[tg[i]]
        bpb = nll / nbytes / np.log(2)
        ppl = np.exp(nll / P)
        print(f"{'':31s} eval: {o['bits_per_byte']:.6f} bits/byte (numpy {bpb:.6f}), "
              f"perplexity {o['perplexity']:.3f} (numpy {ppl:.3f}), top1 {o['top1']:.4f}, "
              f"{o['tokens']} tokens, {o['bytes']} bytes")
        check(o["tokens"] == P and o["bytes"] == nbytes,
              f"{d}: eval scored {o['tokens']} tokens / {o['bytes']} bytes, expected {P} / {nbytes}")
        check(abs(o["bits_per_byte"] - bpb) <= 1e-4 * bpb, f"{d}: bits_per_byte {o['bits_per_byte']} vs {bpb}")
        check(abs(o["perplexity"] - ppl) <= 1e-4 * ppl, f"{d}: perplexity {o['perplexity']} vs {ppl}")
        check(abs(o["top1"] - correct / P) < 1e-12, f"{d}: top1 {o['top1']} vs {correct / P}")

    # dense-to-sparse on a hub checkpoint at any nblocks: the projected model is written in the
    # hub layout (tokenizer included) and loads back to the same evaluation
    for nb in ([4, 3] if not a.full else [4]):
        if not dirs:
            break
        out = os.path.join(a.work, f"d2s-nb{nb}")
        r = run([a.moncim, "d2s", "--in", dirs[1], "--nblocks", str(nb), "--out", out,
                 "--steps", "0", "--eval-positions", "64", "--json"])
        if not check(r.returncode == 0, f"d2s nblocks {nb}: {r.stderr}"):
            continue
        log = json.loads(r.stdout)
        cfg = json.load(open(os.path.join(out, "config.json")))
        check(cfg["monarch_nblocks"] == nb and os.path.exists(os.path.join(out, "merges.txt")),
              f"d2s nblocks {nb}: config {cfg.get('monarch_nblocks')}, tokenizer files missing?")
        r = run([a.moncim, "eval", "--model", out, "--positions", "64", "--json"])
        if not check(r.returncode == 0, f"eval of d2s nblocks {nb}: {r.stderr}"):
            continue
        o = json.loads(r.stdout)
        want = log["projected"]["bits_per_byte"]
        print(f"d2s nblocks {nb}: projection rel. error {log['projection_mean_rel_err']:.4f}, "
              f"held-out bits/byte dense {log['dense']['bits_per_byte']:.5f}, projected {want:.5f}, "
              f"reloaded {o['bits_per_byte']:.5f}")
        check(abs(o["bits_per_byte"] - want) <= 1e-5 * want and o["monarch_nblocks"] == nb,
              f"d2s nblocks {nb}: reloaded model evaluates to {o['bits_per_byte']}, not {want}")

    # a sweep over a hub checkpoint (models = hf:PATH) on a given text (option.eval_text): the
    # float column is the `moncim eval` figure of the same text, the simulated one is finite
    nb4 = os.path.join(a.work, "d2s-nb4")
    if not a.full and os.path.exists(os.path.join(nb4, "config.json")):
        sw = os.path.join(a.work, "hf.sweep")
        with open(sw, "w") as f:
            f.write(f"name = hf\nmodels = hf:{nb4}\nnblocks = 4\nmappings = sparse\n"
                    f"adc_bits = 8\ndac_bits = 1\nnoise = none\nseeds = 1\n"
                    f"option.eval_text = {text_path}\n")
        h5 = os.path.join(a.work, "hf.h5")
        r = run([a.moncim, "sweep", sw, "-o", h5])
        e = run([a.moncim, "eval", "--model", nb4, "--text", text_path, "--json"])
        if check(r.returncode == 0 and e.returncode == 0, f"hf sweep: {r.stderr} {e.stderr}"):
            import h5py
            with h5py.File(h5, "r") as f:
                j = f["jobs"]
                bf, bs, n = float(j["bpc_float"][0]), float(j["bpc"][0]), int(j["eval_chars"][0])
            want = json.loads(e.stdout)
            print(f"sweep hf:{os.path.basename(nb4)} on the text: float {bf:.6f} (eval "
                  f"{want['bits_per_byte']:.6f}), simulated {bs:.6f}, {n} tokens")
            check(abs(bf - want["bits_per_byte"]) < 1e-9 and n == want["tokens"] and np.isfinite(bs),
                  "hf sweep: float column / token count differ from moncim eval")
        with open(sw.replace("hf.sweep", "bad.sweep"), "w") as f:
            f.write(f"name = bad\nmodels = hf:{nb4}\nnblocks = 4\nmappings = sparse\n"
                    f"adc_bits = 8\ndac_bits = 1\nnoise = none\nseeds = 1\n"
                    f"option.eval_text = {text_path}.missing\n")
        r = run([a.moncim, "sweep", sw.replace("hf.sweep", "bad.sweep"), "-o", h5 + ".bad"])
        check(r.returncode != 0 and "eval_text" in r.stderr and ".missing" in r.stderr,
              f"a missing option.eval_text file: rc {r.returncode}, {r.stderr.strip()!r}")

    if a.full or not dirs:
        print("FAIL" if check.failures else "OK")
        sys.exit(1 if check.failures else 0)

    # broken checkpoints: errors name the file and the tensor / field
    src = dirs[0]
    w = gpt2_numpy.read_safetensors(os.path.join(src, "model.safetensors"))

    def variant(name, tensors, cfg_edit=None):
        d = os.path.join(a.work, name)
        os.makedirs(d)
        for f in ("config.json", "vocab.json", "merges.txt"):
            shutil.copy(os.path.join(src, f), d)
        sys.path.insert(0, os.path.join(a.src, "scripts"))
        import importlib.util
        spec = importlib.util.spec_from_file_location("mk", gen)
        mk = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mk)
        mk.write_safetensors(os.path.join(d, "model.safetensors"),
                             [(k, v.astype(np.float32)) for k, v in tensors.items()], "F32")
        if cfg_edit:
            cfg = json.load(open(os.path.join(d, "config.json")))
            cfg.update(cfg_edit)
            json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
        return d

    def expect_error(d, *needles):
        r = run([a.moncim, "eval", "--model", d, "--text", text_path])
        ok = r.returncode == 1 and all(n in r.stderr for n in needles)
        check(ok, f"{os.path.basename(d)}: rc {r.returncode}, stderr {r.stderr.strip()!r}, "
                  f"expected {needles}")

    t = dict(w)
    del t["h.1.mlp.c_fc.bias"]
    expect_error(variant("missing", t), "model.safetensors", "missing tensor 'h.1.mlp.c_fc.bias'")
    t = dict(w)
    t["lm_head.weight"] = w["wte.weight"] * 1.5
    expect_error(variant("untied", t), "lm_head.weight", "tied")
    t = dict(w)
    t["h.0.attn.c_proj.weight"] = w["h.0.attn.c_proj.weight"][:, :100]
    expect_error(variant("shape", t), "h.0.attn.c_proj.weight", "shape")
    expect_error(variant("relu", dict(w), {"activation_function": "relu"}), "config.json",
                 "activation_function")
    t = dict(w)
    t["h.0.extra.weight"] = w["ln_f.bias"]
    expect_error(variant("extra", t), "unexpected tensor 'h.0.extra.weight'")
    d = variant("notok", dict(w))
    os.remove(os.path.join(d, "merges.txt"))
    expect_error(d, "no tokenizer", "merges.txt")
    print("FAIL" if check.failures else "OK")
    sys.exit(1 if check.failures else 0)


if __name__ == "__main__":
    main()
