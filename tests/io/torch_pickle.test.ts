// The meaning torch.save's pickles get: which globals are allowed, what each builds from its
// arguments and what it refuses, and the storage persistent ids. Whole files are in torch.test.ts.
import { expect, it } from 'vitest';

import { FormatError } from '../../lib/index.js';
import { kindOf, StorageRecord, TensorRecord, torchHooks, type TorchValue } from '../../lib/io/torch_pickle.js';
import { PickleGlobal } from '../../lib/io/unpickle.js';

const fail = (why: string): never => {
  throw new FormatError(`test.pth ${why}`);
};
const hooks = torchHooks(fail);
const call = (name: string, ...args: TorchValue[]) => hooks.globals.get(name)!(Object.freeze(args));
const tuple = (...items: TorchValue[]) => Object.freeze(items);
const storageId = (key: string, type = 'FloatStorage', numel = 24) => tuple('storage', new PickleGlobal('torch', type), key, 'cpu', numel);

it('allows only the globals a state dict needs; storage classes may be named, not called', () => {
  const callable = [...hooks.globals].filter(([, build]) => build !== null).map(([name]) => name);
  expect(callable).toEqual(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state']);
  expect([...hooks.globals.keys()].filter((name) => !callable.includes(name)).every((name) => /^torch\.\w+Storage$/.test(name))).toBe(true);
  for (const name of ['os.system', 'builtins.eval', 'torch.load', 'torch.tensor', 'torch._utils._rebuild_qtensor']) expect(hooks.globals.has(name)).toBe(false);
});

it('storages: one record per key, checked for shape and consistency', () => {
  const storage = hooks.persistentLoad(storageId('0'));
  expect(storage).toEqual(new StorageRecord('0', 'torch.FloatStorage', 24));
  expect(hooks.persistentLoad(storageId('0'))).toBe(storage);
  expect(() => hooks.persistentLoad(storageId('0', 'HalfStorage'))).toThrow(/describes storage 0 twice, differently/);
  expect(() => hooks.persistentLoad(tuple('storage', 'torch.FloatStorage', '1', 'cpu', 4))).toThrow(/malformed storage record/);
  expect(() => hooks.persistentLoad(tuple('module', 1))).toThrow(/persistent id that is not \('storage', type, key, location, numel\)/);
});

it('_rebuild_tensor_v2 and _rebuild_parameter make views of storages, and check their arguments', () => {
  const storage = hooks.persistentLoad(storageId('0'));
  const view = call('torch._utils._rebuild_tensor_v2', storage, 8, tuple(2, 3), tuple(6, 1), false, new Map());
  expect(view).toEqual(new TensorRecord(storage as StorageRecord, 8, [2, 3], [6, 1]));
  expect(call('torch._utils._rebuild_parameter', view, true, new Map())).toBe(view);
  expect(call('torch._utils._rebuild_parameter_with_state', view, true, new Map(), new Map())).toBe(view);
  expect(call('collections.OrderedDict')).toEqual(new Map());

  expect(() => call('torch._utils._rebuild_tensor_v2', 'storage', 0, tuple(2), tuple(1))).toThrow(/rebuilds a tensor from "storage", expected a storage/);
  expect(() => call('torch._utils._rebuild_tensor_v2', storage, -1, tuple(2), tuple(1))).toThrow(/storage offset that is not a non-negative integer/);
  expect(() => call('torch._utils._rebuild_tensor_v2', storage, 0, tuple(2, 3), tuple(1))).toThrow(/size and stride are not tuples of non-negative integers of one length/);
  expect(() => call('torch._utils._rebuild_tensor_v2', storage, 0, [2], [1])).toThrow(/size and stride are not tuples/); // lists, not tuples
  expect(() => call('torch._utils._rebuild_tensor_v2', storage, 0, tuple(2.5), tuple(1))).toThrow(/size and stride are not tuples/);
  expect(() => call('torch._utils._rebuild_parameter', storage, true, new Map())).toThrow(/rebuilds a parameter from .*, expected a tensor/);
  expect(() => call('collections.OrderedDict', tuple(tuple('k', 1)))).toThrow(/builds an OrderedDict from arguments/);
});

it('describes values for the messages that list a checkpoint', () => {
  const storage = hooks.persistentLoad(storageId('0')) as StorageRecord;
  const tensor = new TensorRecord(storage, 0, [4, 6], [6, 1]);
  expect(kindOf(tensor)).toBe('tensor [4, 6]');
  expect(kindOf(new Map<TorchValue, TorchValue>([['w', tensor], ['n', 3]]))).toBe('dict of 2 entries, 1 tensors');
  expect([kindOf(3), kindOf(0.5), kindOf(null), kindOf('adam'), kindOf([1]), kindOf(tuple(1))]).toEqual(['3', '0.5', 'None', '"adam"', 'list', 'tuple']);
  expect(kindOf('a very long string value indeed')).toBe('"a very long strin..."');
});
