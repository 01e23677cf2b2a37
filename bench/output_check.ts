// Whether two contenders computed the same thing: each side reduces a row's output to a
// fingerprint (shape, mean, mean |x| and a few values at fixed positions), PyTorch's peers
// send theirs with the row's prepare reply, and the driver compares them. A ratio between two
// programs that compute different outputs would mean nothing.
import type { Tensor } from '../lib/index.js';

/** Values sampled per output, evenly spaced over its row-major (NCHW) elements. */
export const fingerprintSamples = 16;

/** A row's output, reduced (bench/segmentation_torch.py's fingerprint() computes the same). */
export interface OutputFingerprint {
  shape: number[];
  mean: number;
  meanAbs: number;
  /** The elements at row-major index floor(k (n - 1) / 15), k = 0..15. */
  samples: number[];
}

/** The fingerprint of `t` (read back from its device; logical row-major order). */
export async function fingerprint(t: Tensor): Promise<OutputFingerprint> {
  const values = await t.data();
  const n = values.length;
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < n; ++i) {
    const v = Number(values[i]);
    sum += v;
    sumAbs += Math.abs(v);
  }
  const samples = n === 0 ? [] : Array.from({ length: fingerprintSamples }, (_, k) => Number(values[Math.floor((k * (n - 1)) / (fingerprintSamples - 1))]));
  return { shape: [...t.shape], mean: n === 0 ? 0 : sum / n, meanAbs: n === 0 ? 0 : sumAbs / n, samples };
}

/** The outcome of comparing two fingerprints, and the text of the table's cell. */
export interface FingerprintComparison {
  agree: boolean;
  /** The largest difference (means and samples) over the larger mean |x|; null when the shapes differ. */
  maxRelDiff: number | null;
  text: string;
}

/**
 * Compares a peer's fingerprint with neocog's: the shapes must be equal and every mean and
 * sample within `rtol` of the larger mean |x| (float32 sums in a different order differ by
 * ~1e-6 of that on these nets; a wrong layer by far more than 1e-3).
 */
export function compareFingerprints(ours: OutputFingerprint, theirs: OutputFingerprint, rtol = 1e-3): FingerprintComparison {
  if (ours.shape.length !== theirs.shape.length || ours.shape.some((s, i) => s !== theirs.shape[i]) || ours.samples.length !== theirs.samples.length) {
    return { agree: false, maxRelDiff: null, text: `shape [${ours.shape.join(', ')}] vs [${theirs.shape.join(', ')}]` };
  }
  const scale = Math.max(ours.meanAbs, theirs.meanAbs, Number.MIN_VALUE);
  const pairs: [number, number][] = [[ours.mean, theirs.mean], [ours.meanAbs, theirs.meanAbs], ...ours.samples.map((v, i): [number, number] => [v, theirs.samples[i]!])];
  const maxRelDiff = Math.max(...pairs.map(([a, b]) => (Number.isFinite(a) && Number.isFinite(b) ? Math.abs(a - b) / scale : Infinity)));
  const agree = maxRelDiff <= rtol;
  return { agree, maxRelDiff, text: `${agree ? 'agree' : 'DIFFER'} (${maxRelDiff.toExponential(1)})` };
}
