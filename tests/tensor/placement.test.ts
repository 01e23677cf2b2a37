import { expect, it } from 'vitest';

import { randn } from '../../lib/index.js';
import { isAt, placementOf } from '../../lib/tensor/placement.js';

it("a tensor's placement matches the tensor and its views as they are, nothing else", () => {
  const t = randn([2, 3, 4]);
  const at = placementOf(t);
  expect(isAt(t, at)).toBe(true);
  expect(isAt(t.reshape([2, 3, 4]), at)).toBe(true);
  expect(isAt(t.reshape([6, 4]), at)).toBe(false); // another shape
  expect(isAt(t.transpose(1, 2).transpose(1, 2), at)).toBe(true);
  expect(isAt(t.transpose(0, 1), at)).toBe(false);
  expect(isAt(t.slice(0, 1, 2), at)).toBe(false); // another offset
  expect(isAt(t.clone(), at)).toBe(false); // other memory
});
