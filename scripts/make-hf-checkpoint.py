#!/usr/bin/env python3
"""Writes a random GPT-2 checkpoint in the exact layout of the Hugging Face hub (config.json as
transformers' GPT2Config saves it, model.safetensors, and the tokenizer as vocab.json +
merges.txt), for tests and benchmarks where no pretrained weights can be downloaded.

  make-hf-checkpoint.py --out DIR [--shape small|medium|large|xl] [--n-layer N]
                        [--dtype F32|F16|BF16] [--naming plain|transformer|lm_head]
                        [--attn-bias] [--seed S] [--tokenizer TOKDIR]

Shapes are GPT-2's (Radford et al. 2019; the hub's gpt2, gpt2-medium, gpt2-large, gpt2-xl
config.json): small 768 x 12 layers x 12 heads, medium 1024 x 24 x 16, large 1280 x 36 x 20,
xl 1600 x 48 x 25; vocabulary 50257, 1024 positions. --n-layer reduces the depth, --n-embd
and --n-head the width (quick tests).
Naming: "plain" = GPT2Model names (wte.weight, h.0.ln_1.weight, ...), "transformer" = the
GPT2LMHeadModel names with the "transformer." prefix and the head tied (not stored, as
save_pretrained writes it), "lm_head" = prefixed and lm_head.weight stored (equal to wte).
--attn-bias adds the h.N.attn.bias causal-mask buffers of older exports.
Weights: N(0, 0.02) like GPT-2's initialisation; LayerNorm gains 1 + N(0, 0.1) and biases
N(0, 0.02) so that no parameter is trivially 1 or 0. The tokenizer files are copied from
TOKDIR (default: scripts/fetch-gpt2-tokenizer.sh's cache).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

SHAPES = {"small": (768, 12, 12), "medium": (1024, 24, 16), "large": (1280, 36, 20),
          "xl": (1600, 48, 25)}


def to_dtype(a, dtype):
    """float32 array -> (bytes, safetensors dtype name)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.tobytes(), "F32"
    if dtype == "F16":
        return a.astype("<f2").tobytes(), "F16"
    u = a.view(np.uint32).astype(np.uint64)  # BF16: round to nearest even on the top 16 bits
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    return u.tobytes(), "BF16"


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, float32 array or (raw bytes, dtype, shape))."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        if isinstance(a, tuple):
            raw, dt, shape = a
        else:
            raw, dt = to_dtype(a, dtype)
            shape = list(a.shape)
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", choices=SHAPES, default="small")
    ap.add_argument("--n-layer", type=int, default=0)
    ap.add_argument("--n-embd", type=int, default=0, help="narrower than the shape (tests)")
    ap.add_argument("--n-head", type=int, default=0)
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--naming", choices=["plain", "transformer", "lm_head"], default="transformer")
    ap.add_argument("--attn-bias", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tokenizer", default="")
    a = ap.parse_args()
    d, L, H = SHAPES[a.shape]
    if a.n_layer:
        L = a.n_layer
    if a.n_embd:
        d, H = a.n_embd, a.n_head or max(1, a.n_embd // 64)
    V, P, F = 50257, 1024, 4 * d
    rng = np.random.default_rng(a.seed)

    def normal(*shape, sd=0.02):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(sd))

    pre = "" if a.naming == "plain" else "transformer."
    wte = normal(V, d)
    t = [(pre + "wte.weight", wte), (pre + "wpe.weight", normal(P, d, sd=0.01))]
    for l in range(L):
        h = f"{pre}h.{l}."
        t += [(h + "ln_1.weight", 1 + normal(d, sd=0.1)), (h + "ln_1.bias", normal(d)),
              (h + "attn.c_attn.weight", normal(d, 3 * d)), (h + "attn.c_attn.bias", normal(3 * d)),
              (h + "attn.c_proj.weight", normal(d, d)), (h + "attn.c_proj.bias", normal(d)),
              (h + "ln_2.weight", 1 + normal(d, sd=0.1)), (h + "ln_2.bias", normal(d)),
              (h + "mlp.c_fc.weight", normal(d, F)), (h + "mlp.c_fc.bias", normal(F)),
              (h + "mlp.c_proj.weight", normal(F, d)), (h + "mlp.c_proj.bias", normal(d))]
        if a.attn_bias:  # the causal mask buffer (1, 1, P, P), stored as F32 by older exports
            mask = np.tril(np.ones((P, P), dtype=np.float32))
            t.append((h + "attn.bias", (mask.tobytes(), "F32", [1, 1, P, P])))
    t += [(pre + "ln_f.weight", 1 + normal(d, sd=0.1)), (pre + "ln_f.bias", normal(d))]
    if a.naming == "lm_head":
        t.append(("lm_head.weight", wte))
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t, a.dtype)
    cfg = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
           "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
           "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
           "n_ctx": P, "n_embd": d, "n_head": H, "n_inner": None, "n_layer": L, "n_positions": P,
           "resid_pdrop": 0.1, "summary_activation": None, "summary_first_dropout": 0.1,
           "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
           "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[a.dtype],
           "vocab_size": V}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tok = a.tokenizer
    if not tok:
        here = os.path.dirname(os.path.abspath(__file__))
        tok = subprocess.run(["bash", os.path.join(here, "fetch-gpt2-tokenizer.sh")],
                             check=True, capture_output=True, text=True).stdout.strip()
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(tok, f), os.path.join(a.out, f))


if __name__ == "__main__":
    sys.exit(main())
