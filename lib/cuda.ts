/**
 * Finding and loading the CUDA plugin (libneocog_cuda.so) and the cuDNN 9 / cuBLAS 13
 * libraries it links. Every failure becomes a reason string that says what is missing;
 * `cuda.isAvailable()` is false and `to('cuda')` throws a DeviceError with that reason.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { DeviceError } from './errors.js';
import { addonPath, native, type CudaDeviceProperties } from './native.js';

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

interface Probe {
  reason: string | null;
  deviceCount: number;
}

let probe: Probe | undefined;

function pluginPath(): string {
  return process.env.NEOCOG_CUDA_PLUGIN ?? join(dirname(addonPath), 'libneocog_cuda.so');
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

function buildHints(): { cudnnLibDir?: string; cublasLibDir?: string } {
  try {
    return JSON.parse(readFileSync(join(dirname(pluginPath()), 'neocog_cuda.json'), 'utf8')) as {
      cudnnLibDir?: string;
      cublasLibDir?: string;
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
    reason: `${libraries[0]} not found (${what} is needed; install it with \`${install}\` or set the directory in ${
      what === 'cuDNN 9' ? 'NEOCOG_CUDNN_PATH' : 'NEOCOG_CUBLAS_PATH'
    })`,
  };
}

function runProbe(): Probe {
  const plugin = pluginPath();
  if (!existsSync(plugin)) {
    return {
      reason:
        'the CUDA plugin was not built (neocog was compiled without nvcc/cuDNN; rebuild with ' +
        'NEOCOG_CUDA=ON and the CUDA toolkit, nvidia-cudnn-cu13 and nvidia-cublas installed)',
      deviceCount: 0,
    };
  }
  const hints = buildHints();
  const cudnn = findLibraries(
    'cuDNN 9',
    CUDNN_LIBRARIES,
    candidateDirs('NEOCOG_CUDNN_PATH', ['cudnn'], hints.cudnnLibDir),
    'pip install nvidia-cudnn-cu13',
  );
  if ('reason' in cudnn) return { reason: cudnn.reason, deviceCount: 0 };
  const cublas = findLibraries(
    'cuBLAS 13',
    CUBLAS_LIBRARIES,
    candidateDirs('NEOCOG_CUBLAS_PATH', ['cu13', 'cublas'], hints.cublasLibDir),
    'pip install nvidia-cublas',
  );
  if ('reason' in cublas) return { reason: cublas.reason, deviceCount: 0 };

  // Only what the plugin links is preloaded; cuDNN opens its other parts itself, and they
  // were all checked above.
  const dependencies = [
    ...CUBLAS_LIBRARIES.map((name) => join(cublas.dir, name)),
    join(cudnn.dir, 'libcudnn.so.9'),
  ];
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
  /** True when the plugin, cuDNN, cuBLAS, a driver and at least one GPU are all present. */
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
