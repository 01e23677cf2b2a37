/**
 * A restricted unpickler: it builds values from a pickle without running anything. Python's
 * pickle imports any global a pickle names and calls it (REDUCE), so a `.pth` file can run
 * `os.system`; this one knows only the opcodes torch.save emits (protocol 2; protocol 4's
 * framing and short forms too, for `pickle_protocol=4`) and only the globals its caller
 * lists, and a caller decides what each may build. Everything else is an UnpicklingError
 * before anything is called: an unknown opcode, a global outside the list (at GLOBAL, as
 * Python's `Unpickler.find_class` would refuse it), a call of a global listed as not
 * callable, BUILD on anything but a dict. The machine is a loop over the bytes with an
 * explicit stack, so deep nesting cannot overflow the JS stack, and every opcode consumes
 * input, so the time is linear in the pickle's length.
 * Opcode semantics follow CPython's Lib/pickle.py (`_Unpickler.load_*`) and pickletools.
 * @module
 */
import { isAscii } from 'node:buffer';

import { UnpicklingError } from '../errors.js';

/** A global a pickle named (module and qualified name), as a value: a class or a function. */
export class PickleGlobal {
  /** `module.name`, as the caller's list spells it. */
  readonly path: string;
  constructor(
    readonly module: string,
    readonly name: string,
  ) {
    this.path = `${module}.${name}`;
  }
}

/**
 * What a pickle can hold here: Python's None, bool, int (number when it is a safe integer,
 * else bigint), float, str, list (array), tuple (frozen array), dict (Map), a referenced
 * global, or `T`, whatever the caller's globals and persistent loader build.
 */
export type PickleValue<T> = null | boolean | number | bigint | string | PickleValue<T>[] | readonly PickleValue<T>[] | Map<PickleValue<T>, PickleValue<T>> | PickleGlobal | T;

/** How a caller gives meaning to globals and persistent ids. */
export interface UnpicklerHooks<T> {
  /**
   * The globals a pickle may name, by `module.name`: a function builds the value REDUCE
   * makes from its arguments; null lets the global be referenced (as a storage class is) but
   * not called. Any other global is refused.
   */
  globals: ReadonlyMap<string, ((args: readonly PickleValue<T>[]) => PickleValue<T>) | null>;
  /** The value of a persistent id (BINPERSID), such as torch's storage records. */
  persistentLoad: (pid: PickleValue<T>) => PickleValue<T>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An opcode byte as pickletools prints it: its character when printable. */
const showOpcode = (code: number): string => (code >= 0x20 && code < 0x7f ? `${JSON.stringify(String.fromCharCode(code))} (0x${code.toString(16)})` : `0x${code.toString(16).padStart(2, '0')}`);

/** Describes a value for messages, briefly. */
function describe<T>(value: PickleValue<T>): string {
  if (value === null) return 'None';
  if (value instanceof PickleGlobal) return value.path;
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'a tuple' : 'a list';
  if (typeof value === 'string') return 'a str';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** The longest LONG4 read: far more than any count or id in a checkpoint (LONG1 reaches 255). */
const MAX_LONG_BYTES = 1024;

/** Two's-complement little-endian integer of `bytes` (LONG1/LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; --i) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Unpickles `bytes` with the caller's hooks.
 * @param where the start of every message, such as `loadTorch: model.pth (archive/data.pkl)`
 * @throws UnpicklingError when the pickle is malformed or asks for anything not allowed
 */
export function unpickle<T>(input: Uint8Array, hooks: UnpicklerHooks<T>, where: string): PickleValue<T> {
  // A plain Uint8Array over the input: a Buffer's subarray builds a Buffer, several times
  // slower, and reads below take none but for strings.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let at = 0; // where the current opcode began, for messages
  const fail = (why: string): never => {
    throw new UnpicklingError(`${where}: ${why} (pickle byte ${at})`);
  };
  /** Moves past `n` bytes, returning where they begin. */
  const skip = (n: number): number => {
    if (n > bytes.length - pos) fail(`is truncated: an opcode needs ${n} more bytes, ${bytes.length - pos} are left`);
    pos += n;
    return pos - n;
  };
  const take = (n: number): Uint8Array => bytes.subarray(skip(n), pos);
  const u8 = () => bytes[skip(1)]!;
  const u32 = () => view.getUint32(skip(4), true);
  // Names and keys are ASCII: cut out of one latin1 decoding of the whole pickle (where a
  // string's bytes are ASCII, latin1 and UTF-8 agree) rather than decoded one by one (a
  // loader runs this once per file, mostly before V8 has compiled it).
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const text = (n: number): string => {
    const from = skip(n);
    if (isAscii(bytes.subarray(from, pos))) return latin1.substring(from, pos);
    try {
      return utf8.decode(bytes.subarray(from, pos));
    } catch {
      return fail('holds a string that is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('is truncated inside a GLOBAL name');
    return text(end - pos + 1).slice(0, -1);
  };

  // MARK starts a new stack and keeps the old one here (CPython's metastack), so popping past a mark finds the stack empty.
  let stack: PickleValue<T>[] = [];
  const marks: PickleValue<T>[][] = [];
  const memo = new Map<number, PickleValue<T>>();
  const pop = (): PickleValue<T> => {
    if (stack.length === 0) fail('pops an empty stack (or past a MARK)');
    return stack.pop()!;
  };
  const top = (): PickleValue<T> => {
    if (stack.length === 0) fail('pops an empty stack (or past a MARK)');
    return stack[stack.length - 1]!;
  };
  /** The values pushed since the last MARK, which is dropped. */
  const popMark = (): PickleValue<T>[] => {
    const items = stack;
    const outer = marks.pop();
    if (outer === undefined) fail('ends a MARK that was never set');
    stack = outer!;
    return items;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const found = new PickleGlobal(module, name);
    if (!hooks.globals.has(found.path)) fail(`names the global ${found.path}, which is not allowed (a checkpoint may name only the ${hooks.globals.size} globals that tensors and dicts need)`);
    return found;
  };
  const put = (index: number) => memo.set(index, top());
  const get = (index: number) => {
    if (!memo.has(index)) fail(`reads memo entry ${index}, which was never written`);
    stack.push(memo.get(index)!);
  };
  const list = (value: PickleValue<T>): PickleValue<T>[] => {
    if (!Array.isArray(value) || Object.isFrozen(value)) fail(`appends to ${describe(value)}, expected a list`);
    return value as PickleValue<T>[];
  };
  const dict = (value: PickleValue<T>): Map<PickleValue<T>, PickleValue<T>> => {
    if (!(value instanceof Map)) fail(`sets an item of ${describe(value)}, expected a dict`);
    return value as Map<PickleValue<T>, PickleValue<T>>;
  };
  const setItems = (target: Map<PickleValue<T>, PickleValue<T>>, items: PickleValue<T>[]) => {
    if (items.length % 2 !== 0) fail('sets items from an odd number of keys and values');
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      // Python hashes tuples by value; a Map compares objects by identity, so such keys would not merge.
      if (key !== null && typeof key === 'object') fail(`uses ${describe(key)} as a dict key; only None, bools, numbers and strings are read`);
      target.set(key, items[i + 1]!);
    }
  };
  const tuple = (items: PickleValue<T>[]) => stack.push(Object.freeze(items));

  for (;;) {
    at = pos;
    const code = u8();
    switch (code) {
      case 0x80: // PROTO
        if (u8() > 5) fail('declares a pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length prefix only; the frame's opcodes follow in line
        skip(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`stops with ${stack.length} values on the stack and ${marks.length} open marks, expected one value`);
        return pop();
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(skip(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(skip(2), true));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8())));
        break;
      case 0x8b: {
        // LONG4: decoding is quadratic in the length, so a long one is refused, not ground through
        const length = u32();
        if (length > MAX_LONG_BYTES) fail(`holds an integer of ${length} bytes; at most ${MAX_LONG_BYTES} are read`);
        stack.push(decodeLong(take(length)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian, as pickle writes it)
        stack.push(view.getFloat64(skip(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str), read as UTF-8 as torch.load's default encoding does
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x29: // EMPTY_TUPLE
        tuple([]);
        break;
      case 0x85: // TUPLE1
        tuple([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        tuple([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        tuple([pop(), b, c]);
        break;
      }
      case 0x74: // TUPLE
        tuple(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST (popMark first: it replaces the stack)
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        list(top()).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const target = list(top());
        for (const item of items) target.push(item); // not push(...items): a long mark would overflow the call's arguments
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const map = new Map<PickleValue<T>, PickleValue<T>>();
        setItems(map, popMark());
        stack.push(map);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(dict(top()), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(dict(top()), items);
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('names a global with values that are not strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) return fail(`calls ${describe(callable)}, which is not a global`);
        const build = hooks.globals.get(callable.path);
        if (!build) return fail(`calls ${callable.path}, which may be referenced but not called`);
        if (!Array.isArray(args) || !Object.isFrozen(args)) return fail(`calls ${callable.path} with ${describe(args)}, expected a tuple of arguments`);
        stack.push(build(args));
        break;
      }
      case 0x62: {
        // BUILD: only the attributes of a dict subclass (an OrderedDict's _metadata), dropped
        const state = pop();
        const target = top();
        if (!(target instanceof Map) || !(state === null || state instanceof Map)) fail(`sets the state of ${describe(target)} from ${describe(state)}; only a dict's attributes are accepted`);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        return fail(`has opcode ${showOpcode(code)}, which this restricted unpickler does not run`);
    }
  }
}
