#!/usr/bin/env bash
# Benchmarks neocog against PyTorch on this machine, in one run, and prints ratios:
# `npm run bench [-- case ...]` (op names from bench/cases.ts, model names, rows of
# bench/detection_cases.ts, bench/segmentation_cases.ts or bench/inference_cases.ts, or
# `detection` / `segmentation` / `inference` for all rows of one, or `serve`). Installs what the peers
# need when missing. Not part of `npm test`.
# NEOCOG_BENCH_ROUNDS sets the turns.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo

# Debian's torch finds its BLAS through libblas.so.3, which is the slow reference BLAS
# unless OpenBLAS is installed; jemalloc is one of the tuned allocators the bench tries
# (bench/torch_configs.ts); g++ builds the peak-FLOPs probe (bench/peak.cc).
packages=()
/usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null || packages+=(python3-torch python3-torchvision)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || packages+=(python3-venv)
for p in libopenblas0-pthread libjemalloc2; do dpkg -s "$p" >/dev/null 2>&1 || packages+=("$p"); done
command -v g++ >/dev/null || packages+=(g++)
if [ ${#packages[@]} -gt 0 ]; then
  echo "bench: installing ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${packages[@]}"
fi

# PyTorch 2.x in its own venv, from a local CPU wheel (its torchvision wheels are CUDA builds
# that do not load here, so torchvision ops are compared with 1.13 only).
torch2="${NEOCOG_TORCH2_PYTHON:-$HOME/.cache/neocog/torch2/bin/python}"
if ! "$torch2" -c 'import torch' 2>/dev/null; then
  wheel="${NEOCOG_TORCH2_WHEEL:-$(ls /opt/wheels/torch-2.*+cpu-*.whl 2>/dev/null | sort -V | tail -n 1 || true)}"
  if [ -n "$wheel" ] && [ -f "$wheel" ] && [ -z "${NEOCOG_TORCH2_PYTHON:-}" ]; then
    venv="$HOME/.cache/neocog/torch2"
    echo "bench: creating $venv with $(basename "$wheel") (a few minutes, once)"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "$wheel" numpy || echo "bench: PyTorch 2.x peer skipped: pip could not install $wheel"
  else
    echo "bench: PyTorch 2.x peer skipped: no torch-2.*+cpu wheel in /opt/wheels (set NEOCOG_TORCH2_WHEEL or NEOCOG_TORCH2_PYTHON)"
  fi
fi

# onnxruntime-node, the inference peer (bench/ort.ts), in a cache of its own: not a
# dependency of neocog. Its CPU binaries ship in the npm package; the install script it
# would run only fetches CUDA ones, hence ONNXRUNTIME_NODE_INSTALL=skip.
ort="${NEOCOG_ORT_DIR:-$HOME/.cache/neocog/ort}"
if [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
  echo "bench: installing onnxruntime-node into $ort (once)"
  mkdir -p "$ort"
  [ -f "$ort/package.json" ] || echo '{"name": "neocog-bench-ort", "private": true}' > "$ort/package.json"
  (cd "$ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent onnxruntime-node@1) ||
    echo "bench: onnxruntime peer skipped: npm could not install onnxruntime-node"
fi

npx --no-install tsx bench/ops.ts "$@"
# Dispatch cost of small ops (µs per call against PyTorch 1.13), when no case is named.
[ $# -gt 0 ] || npx --no-install tsx bench/dispatch.ts
npx --no-install tsx bench/train.ts "$@"
# Detection ops and detectors against torchvision (issue 13), about 10 minutes.
npx --no-install tsx bench/detection.ts "$@"
# U-Net training, DeepLabV3 eval and sliding-window inference against PyTorch (issue 14).
npx --no-install tsx bench/segmentation.ts "$@"
# Batch inference (InferenceSession) against onnxruntime-node and PyTorch (issue 15).
npx --no-install tsx bench/inference.ts "$@"
# The serving example under closed-loop load, dynamic batching on and off (issue 15).
npx --no-install tsx bench/serve.ts "$@"
