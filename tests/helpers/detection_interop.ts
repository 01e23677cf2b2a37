// What the detector interop tests (Faster/Mask R-CNN, RetinaNet, FCOS against torchvision)
// share: fixture records to tensors, detections compared as sets, losses compared, and a
// turn of the event loop between long synchronous passes.
import { expect } from 'vitest';

import { tensor, type models, type Tensor } from '../../lib/index.js';

/** A fixture's box rows `[[x1, y1, x2, y2], ...]` as float32 `[K, 4]`. */
export const boxesOf = (rows: number[][]): Tensor => tensor(Float32Array.from(rows.flat())).reshape(rows.length, 4);

/** A fixture's training targets as `{ boxes, labels }` records. */
export const targetsOf = (records: ReadonlyArray<{ boxes: number[][]; labels: number[] }>) =>
  records.map((t) => ({ boxes: boxesOf(t.boxes) as Tensor<'float32'>, labels: tensor(Int32Array.from(t.labels)) as Tensor<'int32'> }));

/** One detection, read back. */
export interface DetectionRecord {
  label: number;
  score: number;
  box: number[];
}

/** One image's detections as records, in their order. */
export function records(d: models.detection.Detection): DetectionRecord[] {
  const [boxes, labels, scores] = [d.boxes.dataSync(), d.labels.dataSync(), d.scores.dataSync()];
  return Array.from(labels, (label, k) => ({ label, score: scores[k]!, box: Array.from(boxes.subarray(4 * k, 4 * k + 4)) }));
}

/** Same label, scores within 1e-3 and box coordinates within 1e-2 px. */
export function agrees(a: DetectionRecord, b: DetectionRecord): boolean {
  return a.label === b.label && Math.abs(a.score - b.score) < 1e-3 && a.box.every((v, c) => Math.abs(v - b.box[c]!) < 1e-2);
}

/**
 * Checks one image's detections against torchvision's: as many, ours by decreasing score,
 * and each of torchvision's matched by a distinct one of ours ({@link agrees}) — as sets,
 * since neighbours' scores may lie within float32 noise of each other. Returns, per
 * torchvision detection, the index of ours that matched it.
 */
export function expectSameDetections(image: number, got: DetectionRecord[], expected: { boxes: number[][]; labels: number[]; scores: number[] }): number[] {
  expect(got.length, `image ${image}: detections`).toBe(expected.labels.length);
  got.forEach((r, k) => expect(k === 0 || r.score <= got[k - 1]!.score).toBe(true));
  const unused = new Set(got.keys());
  return expected.labels.map((label, k) => {
    const want = { label, score: expected.scores[k]!, box: expected.boxes[k]! };
    const match = [...unused].find((j) => agrees(got[j]!, want));
    expect(match, `image ${image}: torchvision's detection ${k} ${JSON.stringify(want)} has no counterpart`).toBeDefined();
    unused.delete(match!);
    return match!;
  });
}

/**
 * A turn of the event loop between the long synchronous stages of a test: vitest's worker
 * answers its runner's RPC calls there (a stage that blocks it for over 60 s, as a loaded
 * machine can make one, fails the run with "Timeout calling onTaskUpdate").
 */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Checks a detector's training losses against torchvision's: the same names and each value
 * within 1e-3 relative (absolute below 1). Read without blocking: the first read waits for
 * the whole training forward pass.
 */
export async function expectLossesMatch<L extends { [K in keyof L]: Tensor }>(losses: L, expected: Readonly<Record<string, number>>): Promise<void> {
  expect(Object.keys(losses).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    const got = (await losses[name as keyof L].data())[0]!;
    expect(Math.abs(got - want), name).toBeLessThan(1e-3 * Math.max(1, Math.abs(want)));
  }
}
