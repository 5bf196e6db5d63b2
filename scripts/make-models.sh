#!/usr/bin/env bash
# Rebuilds the model zoo under models/ from scratch with the recorded seeds and hyper-parameters
# (see models/README.md): the dense character-level GPT-2 trained on the King James Bible
# training split, then its dense-to-sparse (Monarch) variants at nblocks 4, 8 and 16, each
# projected from kjv-dense and fine-tuned. Every directory gets config.json, model.safetensors,
# eval.json and a log (train-log.json / d2s-log.json) plus the printed progress table.
#
#   scripts/make-models.sh [OUTDIR] [all|chars|bpe]   (default: models/ all; `make models`)
#
# "bpe" is the token-level member: kjv-bpe-dense, the same architecture as kjv-dense trained on
# the same split with GPT-2's real tokenizer (scripts/fetch-gpt2-tokenizer.sh), saved in the
# Hugging Face layout (config.json, model.safetensors, vocab.json, merges.txt) and loaded like a
# downloaded checkpoint, with D2S variants kjv-bpe-nb4/8/16. Its weights (64 MB, mostly GPT-2's
# 50257 x 256 embedding) and the tokenizer files are not committed; eval.json and logs are.
#
# Results are reproducible for a given thread count (the training is deterministic per thread
# count, not across thread counts); the zoo was made with OMP_NUM_THREADS=2 on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MONCIM=${MONCIM:-$BUILD/bench/moncim}
OUT=${1:-models}
WHICH=${2:-all}
# OpenMP threads that spin after each parallel region steal the cores from OpenBLAS's own
# threads between the kernels; passive waiting made a training step about 1.5x faster here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

mkdir -p "$OUT"
if [ "$WHICH" = all ] || [ "$WHICH" = chars ]; then
# kjv-dense: two phases, both recorded. Phase 1: 1500 steps of 8 windows from the seed-1
# initialisation (lr 2e-3 -> 2e-4). Phase 2 continues from phase 1 with a fresh AdamW state and
# schedule: 450 steps of 16 windows (lr 1e-3 -> 1e-4), data seed 2.
echo "== kjv-dense"
P1="$BUILD/zoo/kjv-dense-phase1"
rm -rf "$P1" "$OUT/kjv-dense"
mkdir -p "$P1" "$OUT/kjv-dense"
"$MONCIM" train --out "$P1" --seed 1 --steps 1500 --batch 8 --lr 2e-3 --min-lr 2e-4 \
  --warmup 100 --log-every 25 2>&1 | tee "$P1/train.txt"
"$MONCIM" train --init "$P1" --out "$OUT/kjv-dense" --seed 2 --steps 450 --batch 16 --lr 1e-3 \
  --min-lr 1e-4 --warmup 30 --log-every 25 2>&1 | tee "$OUT/kjv-dense/train.txt"
cp "$P1/train-log.json" "$OUT/kjv-dense/train-log-phase1.json"
cp "$P1/train.txt" "$OUT/kjv-dense/train-phase1.txt"

for nb in 4 8 16; do
  echo "== kjv-nb$nb"
  rm -rf "$OUT/kjv-nb$nb"
  mkdir -p "$OUT/kjv-nb$nb"
  "$MONCIM" d2s --in "$OUT/kjv-dense" --nblocks "$nb" --out "$OUT/kjv-nb$nb" --seed "$nb" \
    --steps 600 --batch 16 --lr 1e-3 --min-lr 1e-4 --warmup 30 --log-every 25 2>&1 |
    tee "$OUT/kjv-nb$nb/d2s.txt"
done

for m in kjv-dense kjv-nb4 kjv-nb8 kjv-nb16; do
  "$MONCIM" eval --model "$OUT/$m"
done
fi

if [ "$WHICH" = all ] || [ "$WHICH" = bpe ]; then
# kjv-bpe-dense: kjv-dense's shape (256 x 4 layers x 8 heads, 128 tokens of context) on GPT-2's
# BPE: 900 steps of 8 windows (about 4.4 bytes of text per token: 900 x 8 x 128 tokens is about
# one pass over the 4 MB training split), lr 2e-3 -> 2e-4. The 50257-token head dominates the
# cost (2 x 50257 x 256 FLOPs per token each way): 1.3 s per step on 2 quiet cores (measured),
# about 20 minutes. Then D2S at nblocks 4, 8, 16, 150 steps each: about 30 minutes in all.
# BPE_STEPS / BPE_D2S_STEPS / BPE_EVAL override the step counts and held-out tokens scored (an
# abbreviated run of the same recipe on a busy machine).
TOK=$(bash scripts/fetch-gpt2-tokenizer.sh)
BPE_STEPS=${BPE_STEPS:-900}
BPE_D2S_STEPS=${BPE_D2S_STEPS:-150}
BPE_EVAL=${BPE_EVAL:-16384}
echo "== kjv-bpe-dense"
rm -rf "$OUT/kjv-bpe-dense"
mkdir -p "$OUT/kjv-bpe-dense"
"$MONCIM" train --tokenizer "$TOK" --out "$OUT/kjv-bpe-dense" --seed 1 --steps "$BPE_STEPS" \
  --batch 8 --lr 2e-3 --min-lr 2e-4 --warmup 30 --log-every 10 --eval-positions "$BPE_EVAL" 2>&1 |
  tee "$OUT/kjv-bpe-dense/train.txt"
for nb in 4 8 16; do
  echo "== kjv-bpe-nb$nb"
  rm -rf "$OUT/kjv-bpe-nb$nb"
  mkdir -p "$OUT/kjv-bpe-nb$nb"
  "$MONCIM" d2s --in "$OUT/kjv-bpe-dense" --nblocks "$nb" --out "$OUT/kjv-bpe-nb$nb" --seed "$nb" \
    --steps "$BPE_D2S_STEPS" --batch 8 --lr 1e-3 --min-lr 1e-4 --warmup 10 --log-every 10 \
    --eval-positions "$BPE_EVAL" 2>&1 |
    tee "$OUT/kjv-bpe-nb$nb/d2s.txt"
done
for m in kjv-bpe-dense kjv-bpe-nb4 kjv-bpe-nb8 kjv-bpe-nb16; do
  "$MONCIM" eval --model "$OUT/$m" --positions "$BPE_EVAL"
done
fi
