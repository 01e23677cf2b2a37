/**
 * A per-op profiler, like a minimal torch.profiler: the device's stream thread times each
 * kernel it runs (to completion, also on CUDA), grouped by op name.
 * @module
 */
import { native } from '../native.js';
import { resolveDevice, type DeviceLike } from './device.js';

/** Time spent in one op while profiling. */
export interface OpProfile {
  op: string;
  /** Kernels run. */
  count: number;
  /** Their total time on the device's stream. */
  milliseconds: number;
}

/** What {@link profile} measured. */
export interface ProfileResult<T> {
  /** What `fn` returned (awaited). */
  result: T;
  /** Ops by total time, largest first. */
  ops: OpProfile[];
  /** Kernel time of all ops. */
  kernelMilliseconds: number;
  /** Wall time of `fn` plus the wait for its queued kernels. */
  wallMilliseconds: number;
  /** The ops as an aligned text table. */
  table(): string;
}

/**
 * Runs `fn` and reports where the device's time went, per op. Kernel time well below the
 * wall time means the device waited for JavaScript (graph building, data loading).
 *
 * @example
 * const { ops, table } = await profile(() => trainStep());
 * console.log(table());
 */
export async function profile<T>(fn: () => T | Promise<T>, opts: { device?: DeviceLike } = {}): Promise<ProfileResult<T>> {
  const device = resolveDevice('profile', opts.device ?? 'cpu');
  native.profile(device, true);
  const start = performance.now();
  let rows: OpProfile[];
  let result: T;
  try {
    result = await fn();
  } finally {
    rows = native.profile(device, false).filter((row) => row.op !== 'fence');
  }
  const wallMilliseconds = performance.now() - start;
  rows.sort((a, b) => b.milliseconds - a.milliseconds);
  const kernelMilliseconds = rows.reduce((sum, row) => sum + row.milliseconds, 0);
  const table = () => {
    const width = Math.max(2, ...rows.map((r) => r.op.length));
    const line = (op: string, count: string, ms: string, share: string) => `${op.padEnd(width)}  ${count.padStart(7)}  ${ms.padStart(10)}  ${share.padStart(6)}`;
    return [
      line('op', 'calls', 'ms', '%'),
      ...rows.map((r) => line(r.op, String(r.count), r.milliseconds.toFixed(2), ((100 * r.milliseconds) / (kernelMilliseconds || 1)).toFixed(1))),
      line('total kernel time', '', kernelMilliseconds.toFixed(2), ''),
      line('wall time', '', wallMilliseconds.toFixed(2), ''),
    ].join('\n');
  };
  return { result, ops: rows, kernelMilliseconds, wallMilliseconds, table };
}
