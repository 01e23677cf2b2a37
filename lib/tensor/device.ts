/**
 * Devices, as torch.device: `'cpu'`, `'cuda'` (= `'cuda:0'`) or `'cuda:N'`.
 * @module
 */
import { ArgumentError, DeviceError } from '../errors.js';
import { cudaDeviceCount, cudaUnavailableReason } from '../cuda.js';
import { native } from '../native.js';

/** A device name as users write it. */
export type DeviceLike = 'cpu' | 'cuda' | `cuda:${number}`;
/** A normalised device name, as `tensor.device` reports it. */
export type Device = 'cpu' | `cuda:${number}`;

/** Parses and normalises a device name without checking that the device exists. */
export function parseDevice(op: string, value: unknown): Device {
  if (value === 'cpu') return 'cpu';
  if (value === 'cuda') return 'cuda:0';
  if (typeof value === 'string') {
    const match = /^cuda:(\d+)$/.exec(value);
    if (match) return `cuda:${Number(match[1])}`;
  }
  throw new DeviceError(`${op}: expected device 'cpu', 'cuda' or 'cuda:N', got ${String(value)}`);
}

/**
 * Parses a device and checks that it can be used, loading the CUDA plugin on the first
 * CUDA request. Throws DeviceError saying why a CUDA device is unavailable.
 */
export function resolveDevice(op: string, value: unknown): Device {
  const device = parseDevice(op, value);
  if (device === 'cpu') return device;
  const reason = cudaUnavailableReason();
  if (reason !== null) throw new DeviceError(`${op}: CUDA is not available: ${reason}`);
  const index = Number(device.slice(5));
  const count = cudaDeviceCount();
  if (index >= count) throw new DeviceError(`${op}: ${device} does not exist (${count} CUDA device(s) present)`);
  return device;
}

/**
 * Waits until every op queued on `device` so far has run. Rejects with the error of a queued
 * op that failed since the last op call, like `torch.cuda.synchronize()`.
 */
export function synchronize(device: DeviceLike = 'cpu'): Promise<void> {
  return native.synchronize(resolveDevice('synchronize', device));
}

/** Blocking form of {@link synchronize}. */
export function synchronizeSync(device: DeviceLike = 'cpu'): void {
  native.synchronizeSync(resolveDevice('synchronize', device));
}

/**
 * How much work may wait on a device's stream. Ops return before their kernels run; once
 * `maxTasks` ops or `maxBytes` of their outputs are queued, the next op call waits (the
 * calling thread sleeps until the stream has worked the queue down) so that code which
 * never reads a value cannot queue unbounded memory. A single op larger than `maxBytes`
 * still runs, alone. Defaults: 1024 tasks (CUDA's own launch queue holds about as many) and
 * 1 GiB.
 */
export interface QueueLimits {
  /** Ops waiting to run, at most. */
  maxTasks: number;
  /** Bytes of the outputs of waiting ops, at most. */
  maxBytes: number;
}

/** The queue limits of `device`'s stream ({@link QueueLimits}). */
export function queueLimits(device: DeviceLike = 'cpu'): QueueLimits {
  return native.queueLimits(resolveDevice('queueLimits', device));
}

/**
 * Changes the queue limits of `device`'s stream ({@link QueueLimits}); omitted fields keep
 * their value. Lower limits make a loop that never reads values wait sooner; higher ones
 * let it run further ahead of the device.
 * @example setQueueLimits({ maxBytes: 256 * 2 ** 20 }); // at most 256 MiB queued on the CPU
 */
export function setQueueLimits(limits: Partial<QueueLimits>, device: DeviceLike = 'cpu'): void {
  const resolved = resolveDevice('setQueueLimits', device);
  const current = native.queueLimits(resolved);
  const next = { ...current, ...limits };
  for (const key of ['maxTasks', 'maxBytes'] as const) {
    const value = next[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ArgumentError(`setQueueLimits: expected ${key} to be a positive integer, got ${String(value)}`);
    }
  }
  native.setQueueLimits(resolved, next.maxTasks, next.maxBytes);
}

/** The count setNumThreads last set in this thread, if any. */
let requestedThreads: number | null = null;

/**
 * Sets how many threads the CPU kernels use (the OpenMP team oneDNN's primitives and
 * neocog's own kernels share), as `torch.set_num_threads`. Ops queued after the call run
 * with the new count, those queued before with the old. Each thread (a DataLoader or
 * piscina worker) has its own CPU stream, hence its own count: several workers on one
 * machine each want `cores / workers`.
 * @example setNumThreads(1); // one thread per worker when running several workers
 */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new ArgumentError(`setNumThreads: expected threads to be an integer in [1, 1024], got ${String(threads)}`);
  }
  native.setNumThreads('cpu', threads);
  requestedThreads = threads;
}

/**
 * The threads the CPU kernels use, as `torch.get_num_threads`: what {@link setNumThreads}
 * last set in this thread, else OpenMP's default (OMP_NUM_THREADS, else the cores).
 */
export function getNumThreads(): number {
  return requestedThreads ?? native.numThreads('cpu');
}
