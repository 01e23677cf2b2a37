import { expect, it } from 'vitest';

import { ArgumentError, nn, zeros } from '../../../lib/index.js';

it('ModuleList and ModuleDict register children in order and by name', () => {
  const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.ReLU()]);
  list.push(new nn.Linear(2, 1));
  expect(list.length).toBe(3);
  expect([...list.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  expect(list.at(-1)).toBeInstanceOf(nn.Linear);
  expect(() => list.at(5)).toThrow(ArgumentError);
  const dict = new nn.ModuleDict({ encoder: new nn.Linear(4, 2) });
  dict.set('decoder', new nn.Linear(2, 4));
  expect([...dict.stateDict().keys()]).toEqual(['encoder.weight', 'encoder.bias', 'decoder.weight', 'decoder.bias']);
  expect(dict.get('decoder')).toBeInstanceOf(nn.Linear);
});

it('containers keep PyTorch shapes and reject bad configurations', () => {
  expect(new nn.Sequential(new nn.Identity(), new nn.Flatten()).call(zeros([2, 3, 4])).shape).toEqual([2, 12]);
  expect(() => new nn.Sequential({ bad: 3 as never })).toThrow(/not a Module/);
});
