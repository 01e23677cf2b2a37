#!/usr/bin/env bash
# Benchmarks neocog against PyTorch on this machine, in one run, and prints ratios.
# Installs Debian's python3-torch when missing. Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's torch finds its BLAS through libblas.so.3, which is the slow reference BLAS
# unless OpenBLAS is installed: install it so PyTorch is measured at its best.
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends python3-torch python3-torchvision libopenblas0-pthread
fi
npx --no-install tsx bench/ops.ts "$@"
npx --no-install tsx bench/train.ts
