#!/usr/bin/env bash
# Builds and runs the A/B kernel bench (bench/kernels/ab_main.cc): the kernels of a base
# commit (AB_BASE, default: where this branch left main) against the working tree's, in one
# process, with the flags of CMakeLists.txt's neocog_core. Needs a configured build/
# (`npx cmake-js build`), whose libneocog_core.a holds the new side.
#   bench/kernels/ab.sh [case ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
base="${AB_BASE:-$(git merge-base HEAD main)}"
base="$(git rev-parse "$base")"
# The base side is compiled once per base commit and kept.
work="${TMPDIR:-/tmp}/neocog-ab-$(id -u)-${base:0:12}"
mkdir -p "$work/old"
[ -d "$work/old/native" ] || git archive "$base" native | tar -x -C "$work/old"
flags=(-O3 -DNDEBUG -fPIC -fno-trapping-math -fno-math-errno -fopenmp -std=gnu++17 -w)
objects=()
# The base commit's core and CPU backend, every name moved to namespace neocog_old.
for src in "$work"/old/native/src/core/*.cc "$work"/old/native/src/cpu/*.cc; do
  obj="$work/old/$(basename "$src" .cc).o"
  objects+=("$obj")
  [ -f "$obj" ] && continue
  g++ "${flags[@]}" -Dneocog=neocog_old -I"$work/old/native/include" -I"$work/old/native/src" -c "$src" -o "$obj" &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
done
wait
rm -f "$work/old.a" && ar rcs "$work/old.a" "${objects[@]}"
g++ "${flags[@]}" -Dneocog=neocog_old -DAB_SIDE=oldKernels -Ibench/kernels -I"$work/old/native/include" \
  -I"$work/old/native/src" -c bench/kernels/ab_kernels.cc -o "$work/ab_old.o"
g++ "${flags[@]}" -DAB_SIDE=newKernels -Ibench/kernels -Inative/include -Inative/src -c bench/kernels/ab_kernels.cc \
  -o "$work/ab_new.o"
g++ "${flags[@]}" -Ibench/kernels -c bench/kernels/ab_main.cc -o "$work/ab_main.o"
g++ -fopenmp -o "$work/ab" "$work/ab_main.o" "$work/ab_old.o" "$work/ab_new.o" "$work/old.a" build/libneocog_core.a \
  -ldnnl -ldl -lpthread
echo "ab: base $(git rev-parse --short "$base") vs working tree; $(nproc) threads; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/ab" "$@"
