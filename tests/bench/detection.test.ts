import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { models } from '../../lib/index.js';
import { selectCases } from '../../bench/cases.js';
import { detectionCases, detectionLabel, type DetectionModelCase, type DetectionModelName } from '../../bench/detection_cases.js';
import { neocogDetectors } from '../../bench/detection_models.js';

// What bench/detection_torch.py builds per detector (tests/fixtures/make_bench_detection_fixtures.py):
// the detection bench's ratios mean something only if both sides run the same network with the same settings.
interface TorchDetector {
  settings: DetectionModelCase['settings'];
  held: { minSize: number; maxSize: number; scoreThresh: number; detectionsPerImg: number };
  params: [string, number[], boolean][];
}
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/bench_detectors.json', import.meta.url), 'utf8')) as Record<DetectionModelName, TorchDetector>;

const modelRows = detectionCases.filter((c): c is DetectionModelCase => c.kind === 'model');

describe('detection bench rows', () => {
  it("has the issue's rows: nms and batchedNms on 10k boxes, roiAlign forward + backward, each detector's eval and training step", () => {
    expect(detectionCases.map(detectionLabel)).toEqual([
      'nms 10000',
      'batchedNms 10000',
      'roiAlignTrain 2x256x50x50x512x7',
      'fasterrcnnResnet50Fpn eval 1x3x800x800',
      'retinanetResnet50Fpn eval 1x3x800x800',
      'fasterrcnnResnet50Fpn train 2x3x512x512',
      'retinanetResnet50Fpn train 2x3x512x512',
    ]);
  });

  it('processes every image at its own size (min_size = max_size = the side) and gives targets to training rows only', () => {
    for (const c of modelRows) {
      expect([c.settings.minSize, c.settings.maxSize], detectionLabel(c)).toEqual([c.size, c.size]);
      expect(c.targets.length, detectionLabel(c)).toBe(c.mode === 'train' ? c.batch : 0);
      for (const t of c.targets) for (const [x1, y1, x2, y2] of t.boxes) expect(0 <= x1! && x1! < x2! && x2! <= c.size && 0 <= y1! && y1! < y2! && y2! <= c.size).toBe(true);
    }
  });

  it('selects rows by name, and every row with "detection"', () => {
    expect(selectCases(['detection']).detection).toEqual(detectionCases);
    expect(selectCases(['detection']).ops).toEqual([]);
    expect(selectCases(['fasterrcnnResnet50Fpn']).detection.map(detectionLabel)).toEqual(['fasterrcnnResnet50Fpn eval 1x3x800x800', 'fasterrcnnResnet50Fpn train 2x3x512x512']);
    expect(selectCases(['roiAlignTrain']).detection.map((c) => c.name)).toEqual(['roiAlignTrain']);
    expect(() => selectCases(['maskrcnnResnet50Fpn'])).toThrow(/unknown case maskrcnnResnet50Fpn; known: .*roiAlignTrain, fasterrcnnResnet50Fpn, retinanetResnet50Fpn, detection/);
  });
});

describe('detection bench detectors match what torchvision builds', () => {
  for (const name of new Set(modelRows.map((c) => c.name))) {
    const factory = neocogDetectors[name];
    const expected = fixtures[name];
    // A detector not merged yet has a null factory: its rows print "not available" for neocog.
    it.skipIf(factory === null)(`${name}: same parameters (names, shapes, trained or frozen) and settings as detection_torch.py`, () => {
      expect(expected, `bench_detectors.json has no ${name}: rerun make_bench_detection_fixtures.py`).toBeDefined();
      const row = modelRows.find((c) => c.name === name && c.mode === 'eval')!;
      expect(row.settings).toEqual(expected!.settings);
      expect(expected!.held).toEqual({ minSize: row.size, maxSize: row.size, scoreThresh: row.settings.scoreThresh, detectionsPerImg: row.settings.detectionsPerImg });
      const model = factory!(row.settings);
      const ours = [...model.namedParameters()].map(([key, p]) => [key, [...p.shape], p.requiresGrad]);
      expect(Object.fromEntries(ours.map(([key, ...rest]) => [key, rest]))).toEqual(Object.fromEntries(expected!.params.map(([key, ...rest]) => [key, rest])));
      expect(ours).toHaveLength(expected!.params.length);
      if (model instanceof models.detection.GeneralizedRCNN) {
        expect([model.transform.minSize.at(-1), model.transform.maxSize]).toEqual([row.size, row.size]);
        expect([model.roiHeads.scoreThresh, model.roiHeads.detectionsPerImg]).toEqual([row.settings.scoreThresh, row.settings.detectionsPerImg]);
      }
      model.dispose();
    });
  }
});
