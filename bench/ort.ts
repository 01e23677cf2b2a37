// onnxruntime-node for bench/ort_peer.ts. It is not a dependency of neocog: bench/run.sh
// installs it into ~/.cache/neocog/ort (NEOCOG_ORT_DIR) with ONNXRUNTIME_NODE_INSTALL=skip
// (its CPU binaries are in the npm package; the skipped install script fetches CUDA ones).
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The part of onnxruntime-node's API used here. */
export interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}
export interface OrtSession {
  readonly inputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface Ort {
  env: { versions: { node: string } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
}

export const ortDir = process.env.NEOCOG_ORT_DIR ?? join(homedir(), '.cache/neocog/ort');

/** onnxruntime-node from bench/run.sh's install, or a clear error. */
export function loadOrt(): Ort {
  try {
    return createRequire(join(ortDir, 'package.json'))('onnxruntime-node') as Ort;
  } catch (e) {
    throw new Error(`onnxruntime-node is not installed in ${ortDir} (bench/run.sh installs it): ${(e as Error).message.split('\n')[0]}`);
  }
}
