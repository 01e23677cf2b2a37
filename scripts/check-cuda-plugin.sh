#!/usr/bin/env bash
# Checks the built CUDA plugin without a GPU: it exists, references the cuDNN, cuBLAS and
# NCCL entry points it needs, the CPU addon links no CUDA library, and loading it in-process
# ends with the clean "no driver / no device" answer rather than a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=build/Release/libneocog_cuda.so
addon=build/Release/neocog.node
[ -f "$plugin" ] || { echo "FAIL: $plugin was not built"; exit 1; }

printf 'plugin size: %s bytes (%s)\n' "$(stat -c %s "$plugin")" "$(du -h "$plugin" | cut -f1)"
# Captured first: `nm | grep -q` would fail under pipefail when grep stops reading early.
undefined=$(nm -D --undefined-only "$plugin")
defined=$(nm -D --defined-only "$plugin")
for symbol in cudnnCreate cudnnSetStream cudnnGetVersion cublasCreate_v2 cublasSetStream_v2 cublasSgemmStridedBatched cublasGemmStridedBatchedEx \
              ncclCommInitRank ncclAllReduce; do
  grep -qw "$symbol" <<<"$undefined" || { echo "FAIL: $plugin does not reference $symbol"; exit 1; }
done
echo "plugin references: $(grep -oE '(cudnn|cublas|nccl)[A-Za-z_0-9]+' <<<"$undefined" | sort -u | tr '\n' ' ')"
grep -qw neocog_cuda_plugin_create <<<"$defined" || { echo "FAIL: entry point not exported"; exit 1; }

if grep -Ei 'cuda|cudnn|cublas|nccl' <<<"$(ldd "$addon")"; then
  echo "FAIL: the CPU addon links a CUDA library"
  exit 1
fi
echo "CPU addon links no CUDA library"

reason=$(npx --no-install tsx -e "import('./lib/index.ts').then(({ cuda }) => console.log(cuda.isAvailable() ? 'AVAILABLE' : cuda.unavailableReason()))")
echo "cuda probe: $reason"
case "$reason" in
  AVAILABLE) echo "a GPU is present: run tests/gpu (see README)";;
  *"not installed"*|*"crashed a check process"*|*"hung"*|*".so.9 not found"*|*".so.13 not found"*|*".so.2 not found"*|*incomplete*|*"cannot load"*|*"failed to start"*)
    echo "FAIL: the plugin did not load"; exit 1;;
  *) echo "OK: the plugin loaded and reported why no GPU can be used";;
esac
