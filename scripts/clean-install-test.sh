#!/usr/bin/env bash
# A user's install, end to end: `npm run prebuild`, `npm pack` neocog and the CUDA plugin
# package, print their sizes (limits: 60 MB CPU, 200 MB CUDA), then install the tarballs into
# empty projects twice:
#   prebuild  npm install --ignore-scripts: nothing compiles; the prebuilt addon must load
#             with oneDNN bundled beside it (ldd)
#   source    npm install with scripts and NEOCOG_FORCE_BUILD=1: the install script builds
#             the CPU addon with cmake-js; the CUDA plugin comes from its package
# and run scripts/clean-install-smoke.mjs in each (two lenet5 steps, checkpoint round trip).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/neocog-clean-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
npm_quiet=(--no-audit --no-fund --loglevel=error)

npm run --silent prebuild
version=$(node -p "require('./package.json').version")
tarballs=()
pack() { # directory, limit in MB
  local json name
  # A file, not an argument: the listing of every packed file passed 128 KiB, the most one
  # argument may hold (execve's MAX_ARG_STRLEN).
  json="$work/pack-$(basename "$1").json"
  npm pack "$1" --pack-destination "$work" --json --loglevel=error >"$json"
  name=$(node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.filename)' "$json")
  node -e '
    const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const limit = Number(process.argv[2]);
    const mb = (n) => (n / 2 ** 20).toFixed(1);
    console.log(`packed ${p.filename}: ${mb(p.size)} MB (${mb(p.unpackedSize)} MB unpacked, ${p.entryCount} files; limit ${limit} MB)`);
    if (p.size > limit * 2 ** 20) { console.error(`FAIL: ${p.filename} is over ${limit} MB`); process.exit(1); }
  ' "$json" "$2"
  tarballs+=("$work/$name")
}
pack . 60
expect_plugin=0
if [ -f packages/linux-x64-cuda13/libneocog_cuda.so ]; then
  pack ./packages/linux-x64-cuda13 200
  expect_plugin=1
else
  echo "no CUDA plugin was built: the CUDA package is not packed"
fi
# Captured first: `tar | grep -q` would fail under pipefail when grep stops reading early.
contents=$(tar -tzf "${tarballs[0]}")
grep -qx "package/prebuilds/linux-x64/neocog.glibc.node" <<<"$contents" || { echo "FAIL: the tarball has no prebuild"; exit 1; }

project() { # name: an empty project with the smoke script
  mkdir "$work/$1"
  cp scripts/clean-install-smoke.mjs "$work/$1/smoke.mjs"
  (cd "$work/$1" && npm init -y >/dev/null && npm pkg set type=module)
}

echo "--- prebuild path: npm install --ignore-scripts"
project prebuild
(
  cd "$work/prebuild"
  npm install --ignore-scripts "${npm_quiet[@]}" "${tarballs[@]}"
  addon_dir=$PWD/node_modules/neocog/prebuilds/linux-x64
  [ ! -e node_modules/neocog/build ] || { echo "FAIL: a local build exists in the prebuild install"; exit 1; }
  linked=$(ldd "$addon_dir/neocog.glibc.node")
  grep -q "libdnnl.so.2 => $addon_dir/libdnnl.so.2" <<<"$linked" || { echo "FAIL: libdnnl does not resolve to the bundled copy:"; echo "$linked"; exit 1; }
  ! grep -q "not found" <<<"$linked" || { echo "FAIL: unresolved libraries:"; echo "$linked"; exit 1; }
  echo "ldd: libdnnl.so.2, libgomp.so.1 and libOpenCL.so.1 resolve inside the package"
  EXPECT_CUDA_PLUGIN=$expect_plugin node smoke.mjs
)

echo "--- source path: npm install with scripts (NEOCOG_FORCE_BUILD=1)"
project source
(
  cd "$work/source"
  NEOCOG_FORCE_BUILD=1 NEOCOG_CUDA=OFF npm install --foreground-scripts "${npm_quiet[@]}" "${tarballs[@]}" |
    grep -E "^neocog:|error" || true
  [ -f node_modules/neocog/build/Release/neocog.node ] || { echo "FAIL: the install script did not build the addon"; exit 1; }
  EXPECT_CUDA_PLUGIN=$expect_plugin node smoke.mjs
)
echo "clean install: both paths passed"
