// lib/tensor/random.ts: the default generator — seeding, the counter each draw reserves, and
// saving and restoring its position.
import { expect, it } from 'vitest';

import { ArgumentError, getRngState, initialSeed, manualSeed, rand, randn, setRngState } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('the generator', (device) => {
  it('element i of a draw uses counter offset + i, whatever the draw boundaries', () => {
    manualSeed(9);
    const whole = Array.from(randn([7], { device }).dataSync());
    manualSeed(9);
    rand([1], { device }); // consumes counter 0: the next draw starts on an odd counter
    const shifted = Array.from(randn([6], { device }).dataSync());
    expect(shifted).toEqual(whole.slice(1));
  });

  it('successive draws differ', () => {
    manualSeed(1);
    expect(rand([8], { device }).dataSync()).not.toEqual(rand([8], { device }).dataSync());
  });

  it('a restored position draws the same numbers again', () => {
    manualSeed(5);
    rand([3], { device });
    const saved = getRngState();
    const first = Array.from(randn([10], { device }).dataSync());
    rand([100], { device });
    setRngState(saved);
    expect(Array.from(randn([10], { device }).dataSync())).toEqual(first);
  });
});

it('manualSeed sets the seed and rewinds the counter; each draw reserves one counter per value', () => {
  manualSeed(123);
  expect(initialSeed()).toBe(123);
  expect(getRngState()).toEqual({ seed: 123, offset: 0 });
  rand([5]);
  randn([2, 3]);
  expect(getRngState()).toEqual({ seed: 123, offset: 11 });
  manualSeed(123);
  expect(getRngState()).toEqual({ seed: 123, offset: 0 });
  setRngState({ seed: 7, offset: 40 });
  expect(initialSeed()).toBe(7);
  expect(getRngState()).toEqual({ seed: 7, offset: 40 });
});

it('seeds and states must be non-negative safe integers; a refused one changes nothing', () => {
  manualSeed(3);
  expect(() => manualSeed(-1)).toThrow(ArgumentError);
  expect(() => manualSeed(1.5)).toThrow('manualSeed: expected seed to be a non-negative safe integer, got 1.5');
  expect(() => manualSeed(2 ** 53)).toThrow(/got 9007199254740992/);
  expect(() => setRngState({ seed: 1, offset: -1 })).toThrow(ArgumentError);
  expect(() => setRngState({ seed: 1.5, offset: 0 })).toThrow(
    'setRngState: expected non-negative safe integers { seed, offset }, got {"seed":1.5,"offset":0}',
  );
  expect(() => setRngState(null as never)).toThrow(/got null/);
  expect(getRngState()).toEqual({ seed: 3, offset: 0 });
});
