/**
 * What a `torch.save` pickle means: the globals a state dict names and what each builds
 * (torch/_utils.py `_rebuild_tensor_v2`, `_rebuild_parameter`; the storage classes), and the
 * persistent ids torch.serialization's `persistent_id` writes for storages. These are the
 * restricted unpickler's hooks (./unpickle.ts): tensors come out as records of views into
 * storages, not yet read, so that ./torch.ts can check them all before creating any.
 * @module
 */
import type { DType } from '../tensor/dtype.js';
import { PickleGlobal, type PickleValue, type UnpicklerHooks } from './unpickle.js';

/** torch's storage classes: element size and the dtype neocog holds them as (null: none). */
export const STORAGES: ReadonlyMap<string, { bytes: number; dtype: DType | null; torch: string }> = new Map([
  ['torch.FloatStorage', { bytes: 4, dtype: 'float32', torch: 'float32' }],
  ['torch.HalfStorage', { bytes: 2, dtype: 'float16', torch: 'float16' }],
  ['torch.BFloat16Storage', { bytes: 2, dtype: 'bfloat16', torch: 'bfloat16' }],
  ['torch.IntStorage', { bytes: 4, dtype: 'int32', torch: 'int32' }],
  // int64, PyTorch's integer default, is held as int32 when every value fits (as safetensors' I64).
  ['torch.LongStorage', { bytes: 8, dtype: 'int32', torch: 'int64' }],
  ['torch.ByteStorage', { bytes: 1, dtype: 'uint8', torch: 'uint8' }],
  ['torch.BoolStorage', { bytes: 1, dtype: 'bool', torch: 'bool' }],
  // Referenced so that the error can name the tensor and its dtype, rather than refuse the global.
  ['torch.DoubleStorage', { bytes: 8, dtype: null, torch: 'float64' }],
  ['torch.CharStorage', { bytes: 1, dtype: null, torch: 'int8' }],
  ['torch.ShortStorage', { bytes: 2, dtype: null, torch: 'int16' }],
]);

/** A storage a pickle refers to (its persistent id): one `data/<key>` entry of the archive. */
export class StorageRecord {
  constructor(
    readonly key: string,
    readonly type: string,
    readonly numel: number,
  ) {}
}

/** A tensor the pickle describes: a view of `storage`, not yet read. */
export class TensorRecord {
  constructor(
    readonly storage: StorageRecord,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

/** What torch's globals build. */
export type Built = StorageRecord | TensorRecord;
/** A value of a torch.save pickle. */
export type TorchValue = PickleValue<Built>;

const isCount = (v: TorchValue | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTuple = (v: TorchValue | undefined): v is readonly TorchValue[] => Array.isArray(v) && Object.isFrozen(v);
/** A size or stride tuple as numbers, or null. */
function counts(v: TorchValue | undefined): number[] | null {
  if (!isTuple(v)) return null;
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; ++i) {
    const n = v[i];
    if (!isCount(n)) return null;
    out[i] = n;
  }
  return out;
}

/** What a value is, for the messages that list a checkpoint's keys. */
export function kindOf(value: TorchValue): string {
  if (value instanceof TensorRecord) return `tensor [${value.shape.join(', ')}]`;
  if (value instanceof Map) {
    const tensors = [...value.values()].filter((v) => v instanceof TensorRecord).length;
    return `dict of ${value.size} entries, ${tensors} tensors`;
  }
  if (Array.isArray(value)) return isTuple(value) ? 'tuple' : 'list';
  if (value === null) return 'None';
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 17)}...` : value);
  return value instanceof PickleGlobal ? value.path : String(value);
}

/** The unpickler's hooks for one archive: torch's globals and storage persistent ids. */
export function torchHooks(fail: (why: string) => never): UnpicklerHooks<Built> {
  const storages = new Map<string, StorageRecord>();
  const rebuildTensor = (args: readonly TorchValue[]): TorchValue => {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None)
    // Indexed, not destructured: a loader runs this a few hundred times, mostly before V8
    // has compiled it, and destructuring walks the array's iterator.
    const storage = args[0];
    const offset = args[1];
    const shape = args[2];
    const strides = args[3];
    if (!(storage instanceof StorageRecord)) return fail(`rebuilds a tensor from ${kindOf(storage ?? null)}, expected a storage`);
    if (!isCount(offset)) return fail('rebuilds a tensor with a storage offset that is not a non-negative integer');
    const size = counts(shape);
    const stride = counts(strides);
    if (!size || !stride || size.length !== stride.length) return fail('rebuilds a tensor whose size and stride are not tuples of non-negative integers of one length');
    return new TensorRecord(storage, offset, size, stride);
  };
  const parameter = (args: readonly TorchValue[]): TorchValue => {
    // _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its data here.
    if (!(args[0] instanceof TensorRecord)) return fail(`rebuilds a parameter from ${kindOf(args[0] ?? null)}, expected a tensor`);
    return args[0];
  };
  return {
    globals: new Map<string, ((args: readonly TorchValue[]) => TorchValue) | null>([
      ['collections.OrderedDict', (args) => (args.length === 0 ? new Map() : fail('builds an OrderedDict from arguments; torch.save passes none'))],
      ['torch._utils._rebuild_tensor_v2', rebuildTensor],
      ['torch._utils._rebuild_parameter', parameter],
      ['torch._utils._rebuild_parameter_with_state', parameter],
      ...[...STORAGES.keys()].map((name) => [name, null] as const),
    ]),
    persistentLoad: (pid) => {
      // ('storage', storage class, key, location, numel), as torch.serialization._save's persistent_id writes it.
      if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') return fail("has a persistent id that is not ('storage', type, key, location, numel)");
      const type = pid[1];
      const key = pid[2];
      const numel = pid[4];
      if (!(type instanceof PickleGlobal) || typeof key !== 'string' || !isCount(numel)) return fail(`has a malformed storage record ${JSON.stringify(String(key))}`);
      const known = storages.get(key);
      if (known && (known.type !== type.path || known.numel !== numel)) fail(`describes storage ${key} twice, differently`);
      const record = known ?? new StorageRecord(key, type.path, numel);
      storages.set(key, record);
      return record;
    },
  };
}
