import { expect, it } from 'vitest';

import { ArgumentError, KeyError, nn, ShapeError, zeros } from '../../lib/index.js';
import { captureOutput, resolveLayer } from '../../lib/viz/layer.js';
import { liveHooks } from '../helpers/explain_models.js';

const model = () => new nn.Sequential({ features: new nn.Sequential(new nn.Conv2d(1, 2, 1), new nn.ReLU()), head: new nn.Flatten() });

it('resolveLayer: a dotted path, the model itself for "", or a module of the model', () => {
  const m = model();
  expect(resolveLayer('op', m, 'features.1')).toBeInstanceOf(nn.ReLU);
  expect(resolveLayer('op', m, '')).toBe(m);
  const head = resolveLayer('op', m, 'head');
  expect(resolveLayer('op', m, head)).toBe(head);
  expect(() => resolveLayer('op', m, 'layer4.1')).toThrow(KeyError);
  expect(() => resolveLayer('op', m, 'layer4.1')).toThrow(/op: the model has no layer 'layer4.1' \(its layers: features, features.0, features.1, head\)/);
  expect(() => resolveLayer('op', m, new nn.ReLU())).toThrow(/op: the layer module \(ReLU\) is not part of the model/);
  expect(() => resolveLayer('op', m, 3 as unknown as string)).toThrow(ArgumentError);
});

it('captureOutput: the layer output survives the container disposing it; the hook is removed, also on error', () => {
  const m = model();
  const relu = resolveLayer('op', m, 'features.1');
  const hooks = liveHooks(relu);
  const sum = captureOutput('op', relu, () => m.call(zeros([1, 1, 2, 2]).add(1)), ({ result, values }) => {
    expect(result.shape).toEqual([1, 8]);
    expect(values.shape).toEqual([1, 2, 2, 2]);
    return values.sum().item();
  });
  expect(sum).toBeGreaterThanOrEqual(0);
  expect(hooks()).toBe(0);
  expect(() => captureOutput('op', relu, () => m.call(zeros([1, 3, 2, 2])), () => 0)).toThrow();
  expect(hooks()).toBe(0);
  const unused = new nn.ReLU();
  expect(() => captureOutput('op', unused, () => m.call(zeros([1, 1, 2, 2])), () => 0)).toThrow(ShapeError);
});
