#!/usr/bin/env node
// prebuildify drives node-gyp (`node-gyp rebuild --target=.. --devdir=.. --arch=.. --release`);
// neocog builds with cmake-js, so `npm run prebuild` hands prebuildify this script as its
// --node-gyp and it translates the call.
//  - `rebuild` runs `cmake-js build`: CMake's dependency tracking makes an up-to-date tree
//    equal to a clean one, and it spares recompiling the CUDA plugin (minutes) when the tree
//    was just built. Set NEOCOG_PREBUILD_CLEAN=1 for a from-scratch build.
//  - --target/--devdir are ignored: the addon uses Node-API only (napi_versions in
//    package.json), so one build serves every Node version and needs no Node headers.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command = 'rebuild', ...flags] = process.argv.slice(2);
const known = new Set(['rebuild', 'build', 'clean', 'configure']);
if (!known.has(command)) {
  console.error(`node-gyp-shim: unsupported command '${command}' (expected one of ${[...known].join(', ')})`);
  process.exit(2);
}

const args = [command === 'rebuild' && process.env.NEOCOG_PREBUILD_CLEAN !== '1' ? 'build' : command];
for (const flag of flags) {
  const [name, value] = flag.split('=');
  if (name === '--arch' && value) args.push('--arch', value);
  else if (name === '--debug') args.push('--debug');
  // --target, --devdir, --release and electron flags have no cmake-js counterpart here.
}

const cmakeJs = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
console.log(`node-gyp-shim: cmake-js ${args.join(' ')}`);
const result = spawnSync(process.execPath, [cmakeJs, ...args, '--directory', root], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
