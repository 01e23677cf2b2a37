// The restricted unpickler opcode by opcode, on pickles written by hand (byte values from
// CPython's pickletools), and what it refuses. Pickles from torch.save itself are in torch.test.ts.
import { expect, it } from 'vitest';

import { UnpicklingError } from '../../lib/index.js';
import { PickleGlobal, unpickle, type PickleValue, type UnpicklerHooks } from '../../lib/io/unpickle.js';

type Value = PickleValue<never>;
const none: UnpicklerHooks<never> = {
  globals: new Map(),
  persistentLoad: () => {
    throw new Error('no persistent ids here');
  },
};
const bytes = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const load = (pickle: Uint8Array, hooks: UnpicklerHooks<never> = none): Value => unpickle(pickle, hooks, 'test');
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
const str = (s: string) => bytes('X', u32(Buffer.byteLength(s)), Buffer.from(s).toString('latin1'));

it('reads the scalars torch.save writes: ints of every width, floats, bools, None, strings', () => {
  expect(load(bytes([0x80, 2], 'K', [200], '.'))).toBe(200);
  expect(load(bytes('M', [0x34, 0x12], '.'))).toBe(0x1234);
  expect(load(bytes('J', [0xff, 0xff, 0xff, 0xff], '.'))).toBe(-1);
  expect(load(bytes([0x8a, 2], [0x00, 0x80], '.'))).toBe(-32768); // LONG1: two's complement
  expect(load(bytes([0x8a, 0], '.'))).toBe(0);
  expect(load(bytes([0x8a, 9], [0, 0, 0, 0, 0, 0, 0, 0, 1], '.'))).toBe(2n ** 64n); // past 2^53: a bigint
  expect(load(bytes('G', [0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a], '.'))).toBe(0.1); // big-endian double
  expect(load(bytes([0x88], '.'))).toBe(true);
  expect(load(bytes([0x89], '.'))).toBe(false);
  expect(load(bytes('N.'))).toBeNull();
  expect(load(bytes(str('ünï'), '.'))).toBe('ünï');
  expect(load(bytes([0x8c, 2], 'hi.'))).toBe('hi');
  expect(load(bytes('U', [2], 'py.'))).toBe('py');
});

it('builds lists, tuples and dicts with marks, and shares memoised values', () => {
  // [1, (2, 3), {'a': None, 4: True}] with the list memoised and appended to itself by reference.
  const value = load(bytes(']q', [0], '(K', [1], 'K', [2], 'K', [3], [0x86], '}q', [1], '(', str('a'), 'NK', [4], [0x88], 'ueh', [0], 'a.'));
  expect(Array.isArray(value)).toBe(true);
  const list = value as Value[];
  expect(list.slice(0, 2)).toEqual([1, [2, 3]]);
  expect(Object.isFrozen(list[1])).toBe(true); // a tuple
  expect(list[2]).toEqual(new Map<Value, Value>([['a', null], [4, true]]));
  expect(list[3]).toBe(list); // BINGET gives the same object
  expect(load(bytes(')(K', [1], 't', 'K', [5], [0x85], [0x87], '.'))).toEqual([[], [1], [5]]);
  expect(load(bytes('(K', [1], 'K', [2], 'l.'))).toEqual([1, 2]); // LIST
  expect(load(bytes('(', str('k'), 'K', [7], 'd.'))).toEqual(new Map([['k', 7]])); // DICT
  expect(load(bytes('}', str('k'), 'K', [7], 's.'))).toEqual(new Map([['k', 7]])); // SETITEM
  expect(load(bytes('K', [1], 'r', u32(70000), '0j', u32(70000), '.'))).toBe(1); // LONG_BINPUT, POP, LONG_BINGET
  expect(load(bytes([0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0], 'K', [9], [0x94], '2', '0', '.'))).toBe(9); // FRAME, MEMOIZE, DUP
});

it('calls only the globals its caller lists, and only those listed as callable', () => {
  const calls: Value[][] = [];
  const hooks: UnpicklerHooks<never> = {
    globals: new Map([
      ['collections.OrderedDict', (args: readonly Value[]) => (calls.push([...args]), new Map())],
      ['torch.FloatStorage', null],
    ]),
    persistentLoad: (pid) => ['loaded', pid] as Value,
  };
  expect(load(bytes('ccollections\nOrderedDict\n)R.'), hooks)).toEqual(new Map());
  expect(calls).toEqual([[]]);
  expect(load(bytes([0x8c, 5], 'torch', [0x8c, 12], 'FloatStorage', [0x93], '.'), hooks)).toEqual(new PickleGlobal('torch', 'FloatStorage'));
  expect(load(bytes('K', [3], 'Q.'), hooks)).toEqual(['loaded', 3]);
  // BUILD sets a dict's attributes (an OrderedDict's _metadata): accepted, dropped.
  expect(load(bytes('ccollections\nOrderedDict\n)R}b.'), hooks)).toEqual(new Map());

  const refused: Array<[string, Uint8Array, RegExp]> = [
    ['os.system', bytes('cos\nsystem\n', str('echo pwned'), [0x85], 'R.'), /names the global os\.system, which is not allowed/],
    ['builtins.eval by STACK_GLOBAL', bytes([0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93], '.'), /names the global builtins\.eval/],
    ['a storage class called', bytes('ctorch\nFloatStorage\n)R.'), /calls torch\.FloatStorage, which may be referenced but not called/],
    ['a call of a non-global', bytes(str('x'), ')R.'), /calls a str, which is not a global/],
    ['arguments that are not a tuple', bytes('ccollections\nOrderedDict\n]R.'), /with a list, expected a tuple of arguments/],
    ['BUILD on a non-dict', bytes(']}b.'), /sets the state of a list/],
    ['an unknown opcode (protocol 4 EMPTY_SET)', bytes([0x80, 4, 0x8f], '.'), /has opcode 0x8f, which this restricted unpickler does not run \(pickle byte 2\)/],
    ['INST (protocol 0 object creation)', bytes('ios\nsystem\n.'), /has opcode "i" \(0x69\)/],
    ['a truncated pickle', bytes('X', u32(100), 'abc'), /is truncated: an opcode needs 100 more bytes, 3 are left/],
    ['no STOP', bytes('K', [1]), /is truncated/],
    ['two values at STOP', bytes('K', [1], 'K', [2], '.'), /stops with 2 values on the stack/],
    ['an unset memo entry', bytes('h', [5], '.'), /reads memo entry 5, which was never written/],
    ['an empty stack', bytes('0.'), /pops an empty stack/],
    ['a value past a mark', bytes(']', '(a.'), /pops an empty stack \(or past a MARK\)/],
    ['APPEND on a tuple', bytes(')K', [1], 'a.'), /appends to a tuple, expected a list/],
    ['a tuple as a dict key', bytes('})K', [1], 's.'), /uses a tuple as a dict key/],
    ['invalid UTF-8', bytes('X', u32(1), [0xff], '.'), /not valid UTF-8/],
    ['protocol 6', bytes([0x80, 6], 'N.'), /protocol above 5/],
    ['a LONG4 of a megabyte (quadratic to decode)', bytes([0x8b], u32(1 << 20), new Uint8Array(1 << 20), '.'), /an integer of 1048576 bytes; at most 1024 are read/],
  ];
  for (const [what, pickle, message] of refused) {
    let error: unknown;
    try {
      load(pickle, hooks);
    } catch (e) {
      error = e;
    }
    expect(error, what).toBeInstanceOf(UnpicklingError);
    expect((error as Error).message, what).toMatch(message);
  }
});

it('appends a million items at one mark', () => {
  const count = 1_000_000; // EMPTY_LIST, MARK, NONE × count, APPENDS, STOP
  const list = load(Buffer.concat([Buffer.from(']('), Buffer.alloc(count, 'N'), Buffer.from('e.')])) as Value[];
  expect(list.length).toBe(count);
});

it('nests a million lists deep without recursion', () => {
  const depth = 1_000_000;
  const pickle = Buffer.alloc(2 * depth + 1);
  pickle.fill(']', 0, depth); // EMPTY_LIST × depth, then APPEND × (depth - 1), then STOP
  pickle.fill('a', depth, 2 * depth - 1);
  pickle.write('.', 2 * depth - 1);
  let value = load(pickle.subarray(0, 2 * depth)) as Value[];
  for (let d = 1; d < depth; ++d) value = value[0] as Value[];
  expect(value).toEqual([]);
});
