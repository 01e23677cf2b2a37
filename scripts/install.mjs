// npm install hook: use a prebuilt or already-built addon when one loads, otherwise build
// from source with cmake-js, after checking the tools a build needs so that a missing one
// is reported with the package that provides it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The path of a prebuilt or already-built addon that loads here, or null. */
function loadable() {
  try {
    const nodeGypBuild = require('node-gyp-build');
    const path = nodeGypBuild.resolve(root);
    require(path);
    return path;
  } catch {
    return null;
  }
}

function has(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

const forced = process.env.NEOCOG_FORCE_BUILD === '1';
const existing = forced ? null : loadable();
if (existing) {
  const kind = existing.includes('/prebuilds/') ? 'the prebuilt addon' : 'an existing local build';
  console.log(`neocog: using ${kind} (${existing}); nothing to compile`);
  process.exit(0);
}

const missing = [];
if (!has('cmake')) missing.push('cmake (apt-get install cmake)');
if (!has('c++') && !has('g++')) missing.push('a C++17 compiler (apt-get install g++)');
const dnnlHeaders = [process.env.DNNL_ROOT && join(process.env.DNNL_ROOT, 'include'), '/usr/include', '/usr/local/include'];
if (!dnnlHeaders.some((dir) => dir && existsSync(join(dir, 'oneapi/dnnl/dnnl.hpp')))) {
  missing.push('oneDNN 2.x headers and library (apt-get install libdnnl-dev)');
}
if (missing.length > 0) {
  console.error(
    `neocog: no prebuilt addon matches this platform (${process.platform}-${process.arch}, ` +
      `Node ${process.versions.node}) and building from source needs:\n  - ${missing.join('\n  - ')}\n` +
      'Install them (Debian/Ubuntu: sudo apt-get install -y cmake g++ libdnnl-dev) and run npm install again.',
  );
  process.exit(1);
}

if (process.env.NEOCOG_INSTALL_CHECK_ONLY === '1') {
  console.log('neocog: the tools a source build needs are present');
  process.exit(0);
}

console.log(
  forced
    ? 'neocog: NEOCOG_FORCE_BUILD=1: building from source with cmake-js'
    : `neocog: no prebuilt addon loads on this machine (${process.platform}-${process.arch}); building from source with cmake-js`,
);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
try {
  execFileSync(process.execPath, [cmakeJs, 'rebuild', '--directory', root], { stdio: 'inherit', cwd: root });
} catch {
  console.error('neocog: the native build failed; the compiler output above says why.');
  process.exit(1);
}
