/**
 * Loads the addon (node-gyp-build: a local `build/Release` first, then `prebuilds/`) and types
 * its surface; a load failure says what to do about it. Every function is wrapped so native
 * errors arrive as the typed classes of `errors.ts`; nothing else in `lib/` touches the raw
 * binding.
 * @internal
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { fromNativeError, NeocogError } from './errors.js';
import type { NativePrimitives } from './native_primitives.js';

/**
 * How the addon sees a tensor, read in one call: a Float64Array `[storage, dtype code, ndim,
 * offset, ...shape, ...strides]` (elements, not bytes) that lib/tensor/layout.ts packs. The
 * storage is an id from `empty`/`emptyPinned` (non-negative), or a device code (-1 cpu,
 * -2 - n cuda:n) asking the addon to allocate the view's memory there and write the new id
 * in its place (an op's output, lib/tensor/memory.ts SharedStorage).
 */
export type NativeTensor = Float64Array;

export interface AllocatorStats {
  allocatedBytes: number;
  cachedBytes: number;
  peakBytes: number;
}

/** What `cuda.getDeviceProperties()` reports about one GPU, as `torch.cuda.get_device_properties`. */
export interface CudaDeviceProperties {
  name: string;
  totalMemory: number;
  major: number;
  minor: number;
  multiProcessorCount: number;
  cudnnVersion: number;
  cublasVersion: number;
  runtimeVersion: number;
  driverVersion: number;
}

/** A parameter, its gradient and its three state slots (null when unused). */
export type NativeOptimizerEntry = [NativeTensor, NativeTensor, NativeTensor | null, NativeTensor | null, NativeTensor | null];

/** The addon's exports (native/src/binding): the primitives (generated from their declaration)
 * and the memory, stream and plugin functions. */
export interface NativeBinding extends NativePrimitives {
  /** Each primitive's C++ parameter list, as declared (scripts/generate-native-types.mjs reads it). */
  readonly primitiveDeclarations: Readonly<Record<string, string>>;
  /** Each struct parameter's fields as TypeScript (`name: number, ...`), from op_params.h. */
  readonly structDeclarations: Readonly<Record<string, string>>;
  /** Copies between devices, ordered on both streams (contiguous operands of one dtype). */
  transfer(out: NativeTensor, input: NativeTensor): void;
  // memory and streams (binding/memory.cc)
  /** A new allocation's storage id. */
  empty(device: string, byteLength: number): number;
  emptyCache(device: string): void;
  /**
   * Reports `deltaBytes` more (or, negative, less) native memory held by JavaScript objects to
   * V8, which collects sooner under that pressure; returns V8's new total.
   */
  adjustExternalMemory(deltaBytes: number): number;
  /** A new page-locked host allocation's storage id (needs the CUDA plugin). */
  emptyPinned(byteLength: number): number;
  /** Resolves once the device's stream has run everything queued before it. */
  fence(device: string): Promise<void>;
  memoryStats(device: string): AllocatorStats;
  /** Starts timing ops (returns []) or waits, stops and returns the timings. */
  profile(device: string, on: boolean): Array<{ op: string; count: number; milliseconds: number }>;
  queueLimits(device: string): { maxTasks: number; maxBytes: number };
  /** Threads the device's stream runs host kernels with, as last applied on the stream (or the default). */
  numThreads(device: string): number;
  /** Queues a change of that count on the device's stream. */
  setNumThreads(device: string, threads: number): void;
  readAsync(storage: number, byteOffset: number, byteLength: number): Promise<ArrayBuffer>;
  readSync(storage: number, byteOffset: number, byteLength: number): ArrayBuffer;
  /** Drops the storage id; the memory is freed once no queued op uses it. A released id is ignored. */
  releaseStorage(storage: number): void;
  setQueueLimits(device: string, maxTasks: number, maxBytes: number): void;
  storageBytes(storage: number): number;
  /** Page-locked (pinned) host memory from the CUDA plugin. */
  storagePinned(storage: number): boolean;
  synchronize(device: string): Promise<void>;
  synchronizeSync(device: string): void;
  syncMode(): boolean;
  /** Copies host data into a storage that was just allocated (never one already in use). */
  upload(storage: number, source: ArrayBufferView): void;
  /**
   * A CPU storage id over `view`'s bytes, without a copy (binding/shared_memory.cc): the view
   * (and its SharedArrayBuffer) stays alive while the storage does. The view must start at a
   * 4-byte-aligned address.
   */
  wrapShared(view: Uint8Array): number;
  /**
   * A CPU storage id over the whole file open as `fd`, mapped copy-on-write
   * (binding/mapped_file.cc), or null when it is not a non-empty regular file or cannot be
   * mapped.
   */
  mapFile(fd: number): number | null;
  // process group (binding/distributed.cc)
  /** MPI_COMM_WORLD over CPU memory; resolves with this process's rank and the world size. */
  distInitMpi(): Promise<{ rank: number; size: number }>;
  /** A NCCL communicator on `device` from rank 0's unique id. */
  distInitNccl(device: string, uniqueId: ArrayBuffer, rank: number, size: number): Promise<{ rank: number; size: number }>;
  /** A NCCL unique id (made on rank 0). */
  distNcclUniqueId(): ArrayBuffer;
  /**
   * Queues a collective after the device's queued work: `wait()` makes the device's later
   * work wait for it; `done` settles once it ran. `reduceOp` codes: sum, product, min, max, avg.
   */
  distCollective(
    kind: 'allReduce' | 'broadcast' | 'allGather' | 'reduceScatter' | 'barrier',
    output: NativeTensor | null,
    input: NativeTensor | null,
    reduceOp: number,
    root: number,
  ): { wait(): void; done: Promise<void> };
  /** Finalises the communicator after its queued collectives (blocks until then). */
  distDestroy(): void;
  // CUDA plugin (binding/cuda.cc)
  cudaDeviceCount(): number;
  cudaLoad(pluginPath: string, dependencies: readonly string[]): void;
  cudaProperties(device: number): CudaDeviceProperties;
}

/** The package root: `lib/native.ts` and `dist/native.js` both sit one level below it. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);

interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

/** What to do when the addon at `path` was found but would not load (`message` is dlopen's). */
export function addonLoadHint(message: string, path: string): string {
  const localBuild = /[\\/]build[\\/](Release|Debug)[\\/]/.test(path);
  const rebuild = 'build from source instead: `NEOCOG_FORCE_BUILD=1 npm rebuild neocog` (needs cmake, g++ and libdnnl-dev)';
  if (/GLIBC(XX)?_[\d.]+'? not found/.test(message)) {
    return (
      "this system's C/C++ runtime is older than the prebuilt addon needs (glibc 2.34 and libstdc++ " +
      `of GCC 12: Debian 12, Ubuntu 22.04 or newer); ${rebuild}`
    );
  }
  if (/cannot open shared object file/.test(message)) {
    return localBuild
      ? 'the local build links the system oneDNN, which is missing: install it (sudo apt-get install libdnnl2) ' +
          `or delete ${dirname(dirname(path))} to use the prebuilt addon`
      : `a library bundled beside the prebuilt addon is missing: reinstall neocog, or ${rebuild}`;
  }
  return `reinstall neocog, or ${rebuild}`;
}

function load(): { binding: NativeBinding; path: string } {
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  let path: string;
  try {
    // A local build (build/Release, build/Debug) first, then prebuilds/<platform>-<arch>.
    path = nodeGypBuild.resolve(packageRoot);
  } catch (cause) {
    throw new NeocogError(
      'neocog: the native addon is not built and no prebuild matches this platform ' +
        `(${process.platform}-${process.arch}, ${process.versions.node}). Run \`npm install\` in ${packageRoot} ` +
        '(building needs cmake, g++ and libdnnl-dev).',
      { cause },
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = require(path) as Record<string, unknown>;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new NeocogError(`neocog: the native addon ${path} failed to load: ${message}\n  ${addonLoadHint(message, path)}`, {
      cause,
    });
  }
  const wrapped: Record<string, unknown> = {};
  // Node-API defines the exports as non-enumerable properties.
  for (const name of Object.getOwnPropertyNames(raw)) {
    const value = raw[name];
    if (typeof value !== 'function') {
      wrapped[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      try {
        const result = fn.apply(raw, args);
        return result instanceof Promise ? result.catch((e: unknown) => Promise.reject(fromNativeError(e))) : result;
      } catch (e) {
        throw fromNativeError(e);
      }
    };
  }
  return { binding: wrapped as unknown as NativeBinding, path };
}

const loaded = load();

/** The typed binding. */
export const native: NativeBinding = loaded.binding;
/** Absolute path of the loaded `.node` file (the CUDA plugin is looked for beside it). */
export const addonPath: string = loaded.path;
