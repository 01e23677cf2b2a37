#!/usr/bin/env node
// `npm run prebuild`: the binaries a user installs without a compiler.
//   prebuilds/linux-x64/neocog.glibc.node  the CPU addon (prebuildify, Node-API, stripped), with
//                                          the non-system libraries it links (oneDNN, OpenMP,
//                                          OpenCL loader) beside it and RUNPATH $ORIGIN on each,
//                                          so a machine without libdnnl loads it
//   packages/linux-x64-cuda13/             the optional package @neocog/linux-x64-cuda13 with
//                                          libneocog_cuda.so, when the plugin was built
// It fails, naming the library, when the bundled addon would still need something outside
// the system set below.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const target = `${process.platform}-${process.arch}`;
const prebuildDir = join(root, 'prebuilds', target);
// prebuildify names a Node-API build by package name and tags; glibc keeps musl systems away.
const addon = join(prebuildDir, 'neocog.glibc.node');
const cudaPackageDir = join(root, 'packages', `${target}-cuda13`);
const pluginName = 'libneocog_cuda.so';

// What every glibc Linux with Node.js has: glibc itself and the GCC C++ runtime Node links.
const SYSTEM_LIBRARY = /^(linux-vdso|ld-linux[-\w]*|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so/;

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status}`);
}

/** soname -> resolved path (null when not found), from ldd with no LD_LIBRARY_PATH. */
function linkedLibraries(file) {
  const out = execFileSync('ldd', [file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  const libraries = new Map();
  for (const line of out.split('\n')) {
    const match = /^\s*(\S+)\s+=>\s+(not found|\S+)/.exec(line);
    if (match) libraries.set(match[1], match[2] === 'not found' ? null : match[2]);
  }
  return libraries;
}

function packageVersion(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

/** The Debian copyright file of the package owning `file`, if dpkg knows it. */
function copyrightOf(file) {
  try {
    const owner = execFileSync('dpkg', ['-S', realpathSync(file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const pkg = owner.split(':')[0];
    const copyright = `/usr/share/doc/${pkg}/copyright`;
    return existsSync(copyright) ? { pkg, copyright } : null;
  } catch {
    return null;
  }
}

if (spawnSync('patchelf', ['--version'], { stdio: 'ignore' }).status !== 0) {
  fail('patchelf is needed to set $ORIGIN on the bundled libraries (Debian/Ubuntu: sudo apt-get install patchelf)');
}
const version = packageVersion(root);
if (packageVersion(cudaPackageDir) !== version) {
  fail(`packages/${basename(cudaPackageDir)}/package.json must have neocog's version ${version} (the plugin ABI is checked at load)`);
}

// 1. The addon, through prebuildify and our node-gyp shim (cmake-js).
rmSync(prebuildDir, { recursive: true, force: true });
run(process.execPath, [
  require.resolve('prebuildify/bin.js'),
  '--napi',
  '--strip',
  '--tag-libc',
  '--node-gyp',
  join(root, 'scripts', 'node-gyp-shim.mjs'),
]);
if (!existsSync(addon)) fail(`prebuildify did not write ${addon}`);
// prebuildify moved the addon out of build/Release; put a copy back so that the working
// tree keeps loading its own build (and the CUDA plugin beside it).
copyFileSync(addon, join(root, 'build', 'Release', 'neocog.node'));

// 2. prebuildify copies every .so of build/Release; the CUDA plugin goes to its own package.
rmSync(join(cudaPackageDir, pluginName), { force: true });
if (existsSync(join(prebuildDir, pluginName))) {
  renameSync(join(prebuildDir, pluginName), join(cudaPackageDir, pluginName));
  // The build machine's cuDNN/cuBLAS directories mean nothing elsewhere: lib/cuda.ts finds
  // and preloads the user's copies.
  run('patchelf', ['--remove-rpath', join(cudaPackageDir, pluginName)]);
  console.log(`prebuild: CUDA plugin staged in packages/${basename(cudaPackageDir)}/`);
} else {
  console.log('prebuild: no CUDA plugin was built (nvcc/cuDNN absent): only the CPU addon is prebuilt');
}

// 3. Bundle the non-system libraries, transitively, each with RUNPATH $ORIGIN.
const licenses = join(prebuildDir, 'licenses');
const pending = [addon];
const bundled = new Set();
while (pending.length > 0) {
  for (const [soname, path] of linkedLibraries(pending.pop())) {
    if (SYSTEM_LIBRARY.test(soname) || bundled.has(soname)) continue;
    if (path === null) fail(`${soname} is linked but not found on this machine`);
    const copy = join(prebuildDir, soname);
    copyFileSync(path, copy);
    run('patchelf', ['--set-rpath', '$ORIGIN', copy]);
    const notice = copyrightOf(path);
    if (notice) {
      mkdirSync(licenses, { recursive: true });
      copyFileSync(notice.copyright, join(licenses, `${notice.pkg}.copyright`));
    } else {
      console.warn(`prebuild: no copyright file found for ${soname}; add its license to ${licenses} by hand`);
    }
    bundled.add(soname);
    pending.push(copy);
  }
}

// 4. Check: everything resolves, and the bundled libraries resolve to our copies.
for (const [soname, path] of linkedLibraries(addon)) {
  if (path === null) fail(`after bundling, ${soname} is not found`);
  if (bundled.has(soname) && dirname(path) !== prebuildDir) fail(`${soname} resolves to ${path}, not the bundled copy`);
}
const glibc = execFileSync('sh', ['-c', `objdump -T ${prebuildDir}/*.node ${prebuildDir}/*.so* | grep -o 'GLIBC\\(XX\\)\\?_[0-9.]*' | sort -uV`], {
  encoding: 'utf8',
});
const newest = (prefix) => glibc.split('\n').filter((v) => v.startsWith(`${prefix}_`)).pop() ?? 'none';
const megabytes = (file) => (statSync(file).size / 2 ** 20).toFixed(1);
console.log(`prebuild: ${addon} (${megabytes(addon)} MB) with ${[...bundled].join(', ')}`);
console.log(`prebuild: needs ${newest('GLIBC')} and ${newest('GLIBCXX')} from the system`);
