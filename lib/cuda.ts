/**
 * Finding and loading the CUDA plugin (libneocog_cuda.so) and the cuDNN 9 / cuBLAS 13 /
 * NCCL 2 libraries it links. Every failure becomes a reason string that says what is missing;
 * `cuda.isAvailable()` is false and `to('cuda')` throws a DeviceError with that reason.
 * `NEOCOG_BACKEND` chooses: `auto` (default: CUDA when usable), `cpu` (never load the plugin)
 * or `cuda` (importing neocog fails, with the reason, when CUDA is not usable).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

import { ArgumentError, DeviceError } from './errors.js';
import { addonPath, native, packageRoot, type CudaDeviceProperties } from './native.js';

/** cuDNN 9 is split into these libraries; a partial set aborts the process when cuDNN loads
 * a missing part, so all must be present before anything is loaded. */
const CUDNN_LIBRARIES = [
  'libcudnn.so.9',
  'libcudnn_graph.so.9',
  'libcudnn_ops.so.9',
  'libcudnn_cnn.so.9',
  'libcudnn_adv.so.9',
  'libcudnn_heuristic.so.9',
  'libcudnn_engines_precompiled.so.9',
  'libcudnn_engines_runtime_compiled.so.9',
];
const CUBLAS_LIBRARIES = ['libcublasLt.so.13', 'libcublas.so.13'];
/** NCCL (distributed's 'nccl' backend): the plugin links it, so CUDA needs it even on one GPU. */
const NCCL_LIBRARIES = ['libnccl.so.2'];

interface Probe {
  reason: string | null;
  deviceCount: number;
}

let probe: Probe | undefined;

const PLUGIN = 'libneocog_cuda.so';
/** The optional package carrying the prebuilt plugin (packages/linux-x64-cuda13). */
const CUDA_PACKAGE = '@neocog/linux-x64-cuda13';

/** NEOCOG_BACKEND, validated. */
export function backendChoice(): 'auto' | 'cpu' | 'cuda' {
  const value = process.env.NEOCOG_BACKEND ?? 'auto';
  if (value === 'auto' || value === 'cpu' || value === 'cuda') return value;
  throw new ArgumentError(`NEOCOG_BACKEND must be 'auto', 'cpu' or 'cuda', got '${value}'`);
}

/** The plugin to load: NEOCOG_CUDA_PLUGIN, else one beside the addon (a local build), else
 * the optional package's; undefined when there is none. */
function pluginPath(): { path: string } | { reason: string } | undefined {
  const explicit = process.env.NEOCOG_CUDA_PLUGIN;
  if (explicit) return { path: explicit };
  const local = join(dirname(addonPath), PLUGIN);
  if (existsSync(local)) return { path: local };
  let manifest: string;
  try {
    manifest = createRequire(join(packageRoot, 'package.json')).resolve(`${CUDA_PACKAGE}/package.json`);
  } catch {
    return undefined;
  }
  const mismatch = packageVersionMismatch(manifest);
  if (mismatch !== null) return { reason: mismatch };
  const packaged = join(dirname(manifest), PLUGIN);
  return existsSync(packaged) ? { path: packaged } : undefined;
}

/**
 * Why the CUDA package at `manifest` cannot serve this neocog, or null when its version is
 * neocog's own: the plugin is built from the same headers as the addon (its ABI id would
 * refuse it anyway), and saying which version to install beats an ABI hash mismatch.
 * @internal
 */
export function packageVersionMismatch(manifest: string, neocogManifest = join(packageRoot, 'package.json')): string | null {
  const version = (path: string): string => {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && 'version' in parsed ? String(parsed.version) : '(none)';
  };
  const ours = version(neocogManifest);
  const theirs = version(manifest);
  if (ours === theirs) return null;
  return `${CUDA_PACKAGE} ${theirs} is installed, but neocog ${ours} needs the same version: npm install ${CUDA_PACKAGE}@${ours}`;
}

/**
 * Loads the plugin in a throwaway Node process first: a broken driver or a mismatched library
 * can crash the process that initialises CUDA, and that must not be the user's. Returns why
 * the plugin must not be loaded here, or null when the check ended normally (a clean error
 * in the child is reported by the in-process load, which raises it again).
 * @internal
 */
export function verifyPluginInChild(plugin: string, dependencies: readonly string[], addon = addonPath): string | null {
  const script =
    `const addon = require(${JSON.stringify(addon)});` +
    `addon.cudaLoad(${JSON.stringify(plugin)}, ${JSON.stringify(dependencies)});` +
    'addon.cudaDeviceCount();';
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  const fallback = 'set NEOCOG_BACKEND=cpu to use the CPU without this check';
  if (result.error) {
    const timedOut = (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    return timedOut
      ? `loading the CUDA plugin hung for 120 s in a check process (the NVIDIA driver may be stuck; nvidia-smi should answer); ${fallback}`
      : `could not start a process to check the CUDA plugin (${result.error.message}); ${fallback}`;
  }
  if (result.signal) {
    const detail = result.stderr.trim().split('\n').slice(-3).join(' / ');
    return (
      `loading the CUDA plugin crashed a check process (${result.signal}${detail ? `: ${detail}` : ''}); ` +
      `the NVIDIA driver or the cuDNN/cuBLAS/NCCL install is broken (check nvidia-smi, reinstall nvidia-cudnn-cu13 nvidia-cublas nvidia-nccl-cu13); ${fallback}`
    );
  }
  return null;
}

function globDirs(parent: string, prefix: string, rest: string): string[] {
  try {
    return readdirSync(parent)
      .filter((name) => name.startsWith(prefix))
      .map((name) => join(parent, name, rest));
  } catch {
    return [];
  }
}

/** Python site directories where pip puts the nvidia-* wheels. */
function pythonSiteDirs(): string[] {
  const prefixes = [process.env.VIRTUAL_ENV, process.env.CONDA_PREFIX, '/usr/local', '/usr', join(homedir(), '.local')];
  const sites: string[] = [];
  if (process.env.NEOCOG_NVIDIA_SITE) sites.push(process.env.NEOCOG_NVIDIA_SITE);
  for (const prefix of prefixes) {
    if (!prefix) continue;
    sites.push(...globDirs(join(prefix, 'lib'), 'python3', 'site-packages'));
    sites.push(...globDirs(join(prefix, 'lib'), 'python3', 'dist-packages'));
  }
  return sites;
}

function buildHints(plugin: string): { cudnnLibDir?: string; cublasLibDir?: string; ncclLibDir?: string } {
  try {
    return JSON.parse(readFileSync(join(dirname(plugin), 'neocog_cuda.json'), 'utf8')) as {
      cudnnLibDir?: string;
      cublasLibDir?: string;
      ncclLibDir?: string;
    };
  } catch {
    return {};
  }
}

function candidateDirs(envVar: string, wheelDirs: string[], hint: string | undefined): string[] {
  const dirs: string[] = [];
  const explicit = process.env[envVar];
  if (explicit) dirs.push(explicit);
  for (const site of pythonSiteDirs()) for (const wheel of wheelDirs) dirs.push(join(site, 'nvidia', wheel, 'lib'));
  if (hint) dirs.push(hint);
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (dir) dirs.push(dir);
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/local/cuda/lib64', '/usr/lib64');
  return [...new Set(dirs)];
}

/** The first directory holding the whole set, or a reason naming what is missing. */
function findLibraries(
  what: string,
  libraries: string[],
  dirs: string[],
  install: string,
  envVar: string,
): { dir: string } | { reason: string } {
  let partial: { dir: string; missing: string[] } | undefined;
  for (const dir of dirs) {
    const missing = libraries.filter((name) => !existsSync(join(dir, name)));
    if (missing.length === 0) return { dir };
    if (missing.length < libraries.length && !partial) partial = { dir, missing };
  }
  if (partial) {
    return {
      reason: `incomplete ${what} install in ${partial.dir}: missing ${partial.missing.join(', ')} (reinstall: ${install})`,
    };
  }
  return {
    reason: `${libraries[0]} not found (${what} is needed; install it with \`${install}\` or set the directory in ${envVar})`,
  };
}

function runProbe(): Probe {
  if (backendChoice() === 'cpu') return { reason: 'the CUDA backend is turned off (NEOCOG_BACKEND=cpu)', deviceCount: 0 };
  const found = pluginPath();
  if (found !== undefined && 'reason' in found) return { reason: found.reason, deviceCount: 0 };
  const plugin = found?.path;
  if (plugin === undefined || !existsSync(plugin)) {
    return {
      reason:
        `the CUDA plugin is not installed (npm install ${CUDA_PACKAGE}) and was not built ` +
        '(to build it: NEOCOG_CUDA=ON npm rebuild neocog, with nvcc, nvidia-cudnn-cu13, nvidia-cublas and nvidia-nccl-cu13 installed)',
      deviceCount: 0,
    };
  }
  const hints = buildHints(plugin);
  const cudnn = findLibraries(
    'cuDNN 9',
    CUDNN_LIBRARIES,
    candidateDirs('NEOCOG_CUDNN_PATH', ['cudnn'], hints.cudnnLibDir),
    'pip install nvidia-cudnn-cu13',
    'NEOCOG_CUDNN_PATH',
  );
  if ('reason' in cudnn) return { reason: cudnn.reason, deviceCount: 0 };
  const cublas = findLibraries(
    'cuBLAS 13',
    CUBLAS_LIBRARIES,
    candidateDirs('NEOCOG_CUBLAS_PATH', ['cu13', 'cublas'], hints.cublasLibDir),
    'pip install nvidia-cublas',
    'NEOCOG_CUBLAS_PATH',
  );
  if ('reason' in cublas) return { reason: cublas.reason, deviceCount: 0 };
  const nccl = findLibraries(
    'NCCL 2',
    NCCL_LIBRARIES,
    candidateDirs('NEOCOG_NCCL_PATH', ['nccl'], hints.ncclLibDir),
    'pip install nvidia-nccl-cu13',
    'NEOCOG_NCCL_PATH',
  );
  if ('reason' in nccl) return { reason: nccl.reason, deviceCount: 0 };

  // Only what the plugin links is preloaded; cuDNN opens its other parts itself, and they
  // were all checked above.
  const dependencies = [
    ...CUBLAS_LIBRARIES.map((name) => join(cublas.dir, name)),
    join(cudnn.dir, 'libcudnn.so.9'),
    ...NCCL_LIBRARIES.map((name) => join(nccl.dir, name)),
  ];
  const crashed = verifyPluginInChild(plugin, dependencies);
  if (crashed !== null) return { reason: crashed, deviceCount: 0 };
  try {
    native.cudaLoad(plugin, dependencies);
    const deviceCount = native.cudaDeviceCount();
    if (deviceCount === 0) return { reason: 'no CUDA device found (the NVIDIA driver reports 0 devices)', deviceCount };
    return { reason: null, deviceCount };
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error), deviceCount: 0 };
  }
}

/** Why CUDA cannot be used here, or null when it can. Probes (and loads) once. */
export function cudaUnavailableReason(): string | null {
  probe ??= runProbe();
  return probe.reason;
}

/** Number of usable CUDA devices (0 when CUDA is unavailable). */
export function cudaDeviceCount(): number {
  probe ??= runProbe();
  return probe.deviceCount;
}

/** CUDA queries, as `torch.cuda`. */
export const cuda = {
  /** True when the plugin, cuDNN, cuBLAS, NCCL, a driver and at least one GPU are all present. */
  isAvailable(): boolean {
    return cudaUnavailableReason() === null;
  },
  /** Number of usable CUDA devices. */
  deviceCount(): number {
    return cudaDeviceCount();
  },
  /** Why CUDA is unavailable (plugin not built, library missing, no driver), or null. */
  unavailableReason(): string | null {
    return cudaUnavailableReason();
  },
  /** Name, memory, compute capability and library versions of a device. */
  getDeviceProperties(device = 0): CudaDeviceProperties {
    const reason = cudaUnavailableReason();
    if (reason !== null) throw new DeviceError(`cuda.getDeviceProperties: CUDA is not available: ${reason}`);
    return native.cudaProperties(device);
  },
};

// NEOCOG_BACKEND=cuda: fail at import, with the reason, rather than at the first to('cuda').
// Worker threads (DataLoader workers) make CPU batches and probe lazily as usual.
if (backendChoice() === 'cuda' && isMainThread) {
  const reason = cudaUnavailableReason();
  if (reason !== null) throw new DeviceError(`NEOCOG_BACKEND=cuda, but CUDA cannot be used: ${reason}`);
}
