#!/usr/bin/env bash
# Benchmarks (not tests) of moncim on a GPT-2-medium-shaped Hugging Face checkpoint (random
# weights in the hub layout, scripts/make-hf-checkpoint.py: no pretrained weights can be
# downloaded here), each with wall time and peak RSS from /usr/bin/time -v:
#   1. float eval over 1024 tokens (one window of n_positions = 1024)
#   2. D2S projection at nblocks 4 (moncim d2s --steps 0), written as a hub-layout checkpoint
#   3. moncim simulate of the nb4 model: SparseMap, 8-bit ADC, PCM programming + read noise,
#      256 tokens (targets: < 10 min, < 8 GB on 2 cores)
#   4. moncim simulate of the dense model on Linear, 256 tokens (target: < 16 GB)
#   5. a 4-job sweep of the nb4 model (sparse/dense mapping x 6/8-bit ADC, PCM noise, 64 tokens
#      each) under mpirun -np 2 --bind-to none
#
#   scripts/bench-hf.sh [WORKDIR]     (default /tmp/moncim-bench-hf; ~3 GB of checkpoints)
#   STEPS="eval d2s sparse linear sweep" selects steps.
# Timings depend on what else runs on the machine: quote them with its load.
set -euo pipefail
cd "$(dirname "$0")/.."
MONCIM=${MONCIM:-build/bench/moncim}
W=${1:-/tmp/moncim-bench-hf}
STEPS=${STEPS:-eval d2s sparse linear sweep}
PY=/usr/bin/python3
mkdir -p "$W"
M=$W/gpt2-medium
[ -s "$M/model.safetensors" ] ||
  "$PY" scripts/make-hf-checkpoint.py --out "$M" --shape medium --dtype F32 --naming transformer --seed 1

timed() { # NAME CMD...: runs CMD, stdout to $W/NAME.out, time -v to $W/NAME.time; prints a line
  local name=$1; shift
  /usr/bin/time -v "$@" > "$W/$name.out" 2> "$W/$name.time" || { tail -5 "$W/$name.time"; return 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$W/$name.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident" "$W/$name.time" | awk '{printf "%.2f", $NF / 1048576}')
  printf "%-8s wall %10s  peak RSS %6s GiB  user %8ss  load %s\n" "$name" "$wall" "$rss" \
    "$(grep 'User time' "$W/$name.time" | awk '{print $NF}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
NOISE='prog-pcm+read-prop:sigma=0.02'
for s in $STEPS; do
  case $s in
  eval) timed eval "$MONCIM" eval --model "$M" --positions 1024 --json ;;
  d2s) rm -rf "$W/gpt2-medium-nb4"
       timed d2s "$MONCIM" d2s --in "$M" --nblocks 4 --out "$W/gpt2-medium-nb4" --steps 0 --eval-positions 16 ;;
  sparse) timed sparse "$MONCIM" simulate --model "$W/gpt2-medium-nb4" --mapping sparse --adc-bits 8 \
            --noise "$NOISE" --positions 256 --json ;;
  linear) timed linear "$MONCIM" simulate --model "$M" --mapping linear --adc-bits 8 \
            --noise "$NOISE" --positions 256 --json ;;
  sweep) cat > "$W/medium.sweep" <<EOS
name     = gpt2-medium-nb4
models   = hf:$W/gpt2-medium-nb4
nblocks  = 4
mappings = sparse, dense
adc_bits = 6, 8
dac_bits = 1
noise    = pcm
noise.pcm = $NOISE
seeds    = 1
option.eval_chars = 64
EOS
       rm -f "$W/medium.h5"
       timed sweep mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to none \
         "$MONCIM" sweep "$W/medium.sweep" -o "$W/medium.h5" ;;
  *) echo "bench-hf: unknown step $s" >&2; exit 2 ;;
  esac
done
