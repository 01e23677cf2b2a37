#!/usr/bin/env bash
# The GPU conformance run (issue 5), for a machine with an NVIDIA GPU and driver:
#   bash tests/gpu/run.sh [report-dir]        (default tests/gpu/report)
# Builds the CUDA plugin if needed, runs the whole suite (every device-parameterized test
# then also runs on cuda:0, plus tests/gpu), runs the GPU tests again under
# compute-sanitizer memcheck, and writes report.md with the summary and the raw logs.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-tests/gpu/report}
mkdir -p "$out"
report="$out/report.md"
log() { printf '%s\n' "$*" | tee -a "$report"; }
: >"$report"

log "# neocog GPU report ($(date -u +%Y-%m-%dT%H:%MZ))"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1 ||
  { log "nvidia-smi failed: $(cat "$out/gpu.txt")"; exit 1; }
log "GPU: $(cat "$out/gpu.txt")"

if [ ! -f build/Release/libneocog_cuda.so ]; then
  log "building the CUDA plugin (NEOCOG_CUDA=ON)"
  NEOCOG_CUDA=ON npx --no-install cmake-js rebuild >"$out/build.txt" 2>&1 || { log "build failed: see build.txt"; exit 1; }
fi
probe=$(npx --no-install tsx -e "import('./lib/index.ts').then(({ cuda }) => console.log(cuda.isAvailable() ? 'available, ' + cuda.deviceCount() + ' device(s)' : 'UNAVAILABLE: ' + cuda.unavailableReason()))" 2>&1)
log "cuda: $probe"
case "$probe" in available*) ;; *) exit 1 ;; esac

npx --no-install vitest run --reporter=verbose >"$out/vitest.txt" 2>&1
suite=$?
log "suite (CPU + cuda:0): exit $suite; $(grep -E '^\s+Tests' "$out/vitest.txt" | tail -1 | sed 's/^ *//')"
grep -E '×|FAIL' "$out/vitest.txt" | head -40 | sed 's/^/    /' | tee -a "$report"

sanitizer=0
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --target-processes all --error-exitcode 99 \
    npx --no-install vitest run tests/gpu tests/ops tests/losses >"$out/sanitizer.txt" 2>&1
  sanitizer=$?
  log "compute-sanitizer memcheck (tests/gpu, tests/ops, tests/losses): exit $sanitizer; $(grep -E 'ERROR SUMMARY' "$out/sanitizer.txt" | sort | uniq -c | tr '\n' ' ')"
else
  log "compute-sanitizer not on PATH: memcheck skipped"
fi

log "raw logs: $out/{vitest,sanitizer}.txt"
[ "$suite" -eq 0 ] && [ "$sanitizer" -eq 0 ]
