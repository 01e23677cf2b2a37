/**
 * PyTorch checkpoints (`torch.save`, zip format, PyTorch 1.6+) read without Python. The file
 * is a zip archive `<archive>/data.pkl` + `<archive>/data/<key>` (one raw storage each) +
 * `<archive>/version` (+ `<archive>/byteorder` since 2.1). data.pkl is read by the restricted
 * unpickler (./unpickle.ts), which knows only the globals a state dict needs: the tensors'
 * rebuild functions, the storage classes and OrderedDict. Loading never runs code from the
 * file. Tensors are `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: views into
 * storages that several tensors may share (torch/_utils.py, torch/serialization.py
 * `_load`), so each is copied out of its storage as a contiguous tensor of its own.
 *
 * As the other readers (DESIGN §7), everything that can fail on the file's content is checked
 * before the first tensor is created: the archive, the CRC-32s of the pickle and small entries
 * (of every storage too with `verify`), the pickle, each view against its storage, each int64
 * value against int32. A failure is a FormatError (UnpicklingError for a refused pickle) and
 * leaves nothing allocated. Files are mapped (./mapped_file.ts) and only their structure is
 * read: a tensor alone on its storage views the file's bytes, the others are copied out.
 * @module
 */
import { closeSync, openSync, readFile, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { ArgumentError, FormatError, KeyError } from '../errors.js';
import { fromBytes } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { MAX_NUMEL, numelOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MappedFile } from './mapped_file.js';
import { uploadInChunks } from './transfer.js';
import { kindOf, STORAGES, torchHooks, type StorageRecord, TensorRecord, type TorchValue } from './torch_pickle.js';
import { unpickle } from './unpickle.js';
import { bytesSource, extractZipEntry, fileSource, readZipDirectory, type ZipEntry, type ZipSource } from './zip.js';

/** Options of {@link loadTorch}. */
export interface LoadTorchOptions {
  /**
   * The entry of a checkpoint dict that holds the state dict, such as `'model'` for
   * `torch.save({'model': model.state_dict(), 'optimizer': ..., 'epoch': 3}, path)`.
   * Default: the file's top-level dict is the state dict.
   */
  key?: string;
  /**
   * A prefix removed from every name that starts with it, such as `'module.'`, which
   * `nn.DataParallel` and DistributedDataParallel add. Default: names as saved.
   */
  stripPrefix?: string;
  /**
   * Also check each storage against its CRC-32, which catches bytes changed inside tensor
   * data (a flipped bit) at the cost of reading all of them once more, into a copy (tens of
   * milliseconds per 100 MB). Default false, as torch.load, whose zip reader skips these
   * checks: the archive's structure, its pickle and every size and offset are checked either way.
   */
  verify?: boolean;
}

/** neocog tensors have at most 8 dimensions. */
const MAX_DIMS = 8;

/** The legacy formats' first bytes, for an error that says what to do instead. */
function legacyFormat(bytes: Uint8Array): string | null {
  // torch.save before 1.6 (or with _use_new_zipfile_serialization=False): a pickled magic number first.
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5) return 'the legacy (pre-1.6) pickle format';
  // torch.save of PyTorch 0.1-0.3: a tar archive.
  if (Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') return 'the legacy tar format of PyTorch 0.3 and earlier';
  return null;
}

/** The archive's entries and its pickle, with the folder name every entry starts with. */
function openArchive(source: ZipSource, fail: (why: string) => never): { entries: Map<string, ZipEntry>; folder: string } {
  const bytes = source.read(0, Math.min(source.length, 262));
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  if (!isZip) {
    const legacy = legacyFormat(bytes);
    if (legacy) {
      fail(
        `is in ${legacy}, which loadTorch does not read; re-save it with a current PyTorch: ` +
          `python3 -c "import torch; torch.save(torch.load('old.pth'), 'new.pth')"`,
      );
    }
    fail('is not a PyTorch checkpoint (torch.save writes a zip archive; this does not start like one)');
  }
  const entries = readZipDirectory(source, fail);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) fail(`has ${pickles.length} <archive>/data.pkl entries, expected one (is it a torch.save file?)`);
  return { entries, folder: pickles[0]!.slice(0, -'data.pkl'.length) };
}

/** The dict the caller asked for: the file's top level, or its `key` entry. */
function selectStateDict(root: TorchValue, opts: LoadTorchOptions, where: string, fail: (why: string) => never): Map<TorchValue, TorchValue> {
  if (!(root instanceof Map)) return fail(`holds ${kindOf(root)}, not a dict of tensors`);
  const listing = () => [...root].map(([k, v]) => `${String(k)} (${kindOf(v)})`).join(', ');
  let dict = root;
  if (opts.key !== undefined) {
    if (!root.has(opts.key)) throw new KeyError(`${where} has no key ${JSON.stringify(opts.key)}; it holds ${listing()}`);
    const picked = root.get(opts.key)!;
    if (!(picked instanceof Map)) return fail(`holds ${kindOf(picked)} under ${JSON.stringify(opts.key)}, not a dict of tensors`);
    dict = picked;
  } else if ([...root.values()].some((v) => v instanceof Map)) {
    fail(`is a checkpoint of several parts, not a state dict: it holds ${listing()}; pass { key } to pick the state dict`);
  }
  return dict;
}

/** One tensor to create, validated: its name, dtype and bytes (of the view, or of its whole storage). */
interface Planned {
  name: string;
  dtype: DType;
  shape: number[];
  /** The view's own bytes when they are one run of the storage, or int64 narrowed to int32; ... */
  bytes?: Uint8Array;
  /** ... or where that run lies in the mapped file, for a tensor that borrows it; ... */
  fileOffset?: number;
  /** Otherwise the whole storage (by key: names that share it share one upload), ... */
  storage?: { key: string; bytes: Uint8Array; numel: number };
  /** ... and the view's strides and offset into it, in elements. */
  strides: number[];
  offset: number;
}

/** A view's int64 elements as int32, or the index of the first one that does not fit. */
function narrowView(data: Uint8Array, record: TensorRecord): { values: Int32Array } | { bad: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const values = new Int32Array(numelOf(record.shape));
  const index = new Array<number>(record.shape.length).fill(0);
  let at = record.offset;
  for (let i = 0; i < values.length; ++i) {
    const low = view.getInt32(8 * at, true);
    // It fits when the high word is the low word's sign extension.
    if (view.getInt32(8 * at + 4, true) !== low >> 31) return { bad: i };
    values[i] = low;
    // Odometer over the view's indices, stepping `at` by the strides.
    for (let d = record.shape.length - 1; d >= 0; --d) {
      at += record.strides[d]!;
      if (++index[d]! < record.shape[d]!) break;
      at -= record.strides[d]! * record.shape[d]!;
      index[d] = 0;
    }
  }
  return { values };
}

/**
 * Validates every tensor of the state dict against its storage; reads storages once each.
 * With the file `mapped`, a contiguous view of a storage no other tensor views borrows its
 * bytes where they lie in the file (no copy: torch.save aligns every storage to 64 bytes);
 * tensors that share a storage are copied out, so that no two loaded tensors share memory.
 */
function plan(source: ZipSource, mapped: boolean, opts: LoadTorchOptions, where: string): Planned[] {
  const fail = (why: string): never => {
    throw new FormatError(`${where} ${why}`);
  };
  const verify = opts.verify === true;
  const { entries, folder } = openArchive(source, fail);
  const pickle = extractZipEntry(source, entries.get(`${folder}data.pkl`)!, fail);
  const dict = selectStateDict(unpickle(pickle, torchHooks(fail), `${where} (${folder}data.pkl)`), opts, where, fail);
  const byteorder = entries.get(`${folder}byteorder`);
  const bigEndian = byteorder !== undefined && Buffer.from(extractZipEntry(source, byteorder, fail)).toString('latin1') === 'big';
  const views = new Map<string, number>();
  for (const value of dict.values()) if (value instanceof TensorRecord) views.set(value.storage.key, (views.get(value.storage.key) ?? 0) + 1);
  const storages = new Map<string, Uint8Array>();
  const storage: StorageSource = (record, elementBytes) => {
    const entry = entries.get(`${folder}data/${record.key}`);
    if (!entry) return fail(`lacks ${folder}data/${record.key}, a storage its pickle refers to`);
    if (entry.size !== record.numel * elementBytes) fail(`has storage ${record.key} of ${entry.size} bytes; its ${record.numel} elements of ${elementBytes} bytes need ${record.numel * elementBytes}`);
    const fileOffset = mapped && entry.method === 0 && !bigEndian && !verify && views.get(record.key) === 1 ? entry.dataStart : null;
    const bytes = (): Uint8Array => {
      let data = storages.get(record.key);
      if (data) return data;
      data = extractZipEntry(source, entry, fail, verify);
      if (bigEndian) data = swapped(data, elementBytes);
      storages.set(record.key, data);
      return data;
    };
    return { fileOffset, bytes };
  };
  const names = new Map<string, string>();
  const planned: Planned[] = [];
  for (const [key, value] of dict) {
    if (!(value instanceof TensorRecord)) continue; // numbers, strings, lists: not part of a state dict
    if (typeof key !== 'string') fail(`has a tensor under the key ${String(key)}, which is not a string`);
    const original = key as string;
    const name = opts.stripPrefix && original.startsWith(opts.stripPrefix) ? original.slice(opts.stripPrefix.length) : original;
    if (names.has(name)) throw new KeyError(`${where}: stripping ${JSON.stringify(opts.stripPrefix)} makes ${names.get(name)} and ${original} both ${name}`);
    names.set(name, original);
    planned.push(planTensor(name, value, storage, fail));
  }
  return planned;
}

/**
 * A storage's bytes, read (and checked) on first use, and its offset in the mapped file when
 * a tensor may borrow it there (null otherwise).
 */
type StorageSource = (record: StorageRecord, elementBytes: number) => { fileOffset: number | null; bytes: () => Uint8Array };

/** A copy of `data` with each element's bytes reversed (a big-endian file). */
function swapped(data: Uint8Array, elementBytes: number): Uint8Array {
  const copy = Buffer.from(data);
  if (elementBytes === 2) copy.swap16();
  else if (elementBytes === 4) copy.swap32();
  else if (elementBytes === 8) copy.swap64();
  return copy;
}

/** Checks one tensor's view against its storage and prepares its bytes. */
function planTensor(name: string, record: TensorRecord, storage: StorageSource, fail: (why: string) => never): Planned {
  const type = STORAGES.get(record.storage.type)!;
  if (type.dtype === null) fail(`has tensor ${name} of dtype ${type.torch}, which neocog cannot hold; convert it (e.g. .float()) before saving`);
  if (record.shape.length > MAX_DIMS) fail(`has tensor ${name} with ${record.shape.length} dimensions; neocog tensors have at most ${MAX_DIMS}`);
  const numel = numelOf(record.shape);
  // Stride 0 (an expanded view) lets a small storage claim any size: bounded as every tensor is.
  if (!(numel <= MAX_NUMEL)) fail(`has tensor ${name} of size [${record.shape.join(', ')}], more than the ${MAX_NUMEL} elements a neocog tensor holds`);
  // The last element the view reaches must lie inside its storage; when contiguous (sizes of
  // 1 may carry any stride), the view's bytes are one run of it. One plain loop: this runs
  // per tensor, mostly before V8 has compiled it.
  let last = record.offset;
  let contiguous = true;
  for (let d = record.shape.length - 1, stride = 1; d >= 0; --d) {
    const size = record.shape[d]!;
    last += (size - 1) * record.strides[d]!;
    if (size !== 1 && record.strides[d] !== stride) contiguous = false;
    stride *= size;
  }
  if (numel > 0 && last >= record.storage.numel) {
    fail(`has tensor ${name} (offset ${record.offset}, size [${record.shape.join(', ')}], stride [${record.strides.join(', ')}]) reaching element ${last} of a storage of ${record.storage.numel}`);
  }
  const { fileOffset, bytes } = storage(record.storage, type.bytes);
  const base = { name, dtype: type.dtype!, shape: record.shape, strides: record.strides, offset: record.offset };
  if (type.torch === 'int64') {
    const narrow = narrowView(bytes(), record);
    if ('bad' in narrow) return fail(`has int64 tensor ${name} with a value outside int32 (element ${narrow.bad})`);
    return { ...base, bytes: new Uint8Array(narrow.values.buffer) };
  }
  const at = fileOffset === null ? null : fileOffset + type.bytes * record.offset;
  // Kernels read whole elements: the address (the mapping starts on a page) must be a multiple of the element's size, and of 4.
  if (contiguous && numel > 0 && at !== null && at % Math.max(type.bytes, 4) === 0) return { ...base, fileOffset: at };
  if (contiguous || numel === 0) return { ...base, bytes: bytes().subarray(type.bytes * record.offset, type.bytes * (record.offset + numel)) };
  return { ...base, storage: { key: record.storage.key, bytes: bytes(), numel: record.storage.numel } };
}

/** A request to upload bytes as a CPU tensor; the driver (sync or async) answers with the tensor. */
interface Upload {
  bytes: Uint8Array;
  shape: number[];
  dtype: DType;
}

/**
 * Creates the planned tensors, asking its driver for each upload; borrowed ones view the
 * `mapped` file. Views are copied out of a storage tensor uploaded once per storage. On any
 * failure every tensor made is disposed.
 */
function* create(op: string, planned: Planned[], mapped: MappedFile | null = null): Generator<Upload, Map<string, Tensor>, Tensor> {
  const made = new Map<string, Tensor>();
  const storages = new Map<string, Tensor>();
  try {
    for (const p of planned) {
      // Bool through uint8, so that any non-zero byte reads as true.
      const held: DType = p.dtype === 'bool' ? 'uint8' : p.dtype;
      let t: Tensor;
      if (p.fileOffset !== undefined) {
        t = mapped!.tensorAt(op, p.fileOffset, p.shape, held);
      } else if (p.bytes) {
        t = yield { bytes: p.bytes, shape: p.shape, dtype: held };
      } else {
        const { key, bytes, numel } = p.storage!;
        let storage = storages.get(key);
        if (!storage) {
          storage = yield { bytes, shape: [numel], dtype: held };
          storages.set(key, storage);
        }
        const view = storage._view(op, p.shape, p.strides, p.offset);
        t = view.clone();
        view.dispose();
      }
      if (p.dtype === 'bool') {
        const bytesTensor = t;
        t = bytesTensor.to('bool');
        bytesTensor.dispose();
      }
      made.set(p.name, t);
    }
  } catch (error) {
    for (const t of made.values()) t.dispose();
    throw error;
  } finally {
    for (const t of storages.values()) t.dispose();
  }
  return made;
}

function checkOptions(op: string, opts: LoadTorchOptions): void {
  if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${op}: expected opts to be an object, got ${opts === null ? 'null' : typeof opts}`);
  for (const field of ['key', 'stripPrefix'] as const) {
    if (opts[field] !== undefined && typeof opts[field] !== 'string') throw new ArgumentError(`${op}: expected opts.${field} to be a string, got ${typeof opts[field]}`);
  }
  if (opts.verify !== undefined && typeof opts.verify !== 'boolean') throw new ArgumentError(`${op}: expected opts.verify to be a boolean, got ${typeof opts.verify}`);
}

/**
 * Runs {@link create}, answering each upload with `upload`, awaiting only answers that are
 * promises (a turn of the job queue per tensor is not free); a failed upload disposes what
 * was made.
 */
async function drive(steps: Generator<Upload, Map<string, Tensor>, Tensor>, upload: (u: Upload) => Tensor | Promise<Tensor>): Promise<Map<string, Tensor>> {
  for (let step = steps.next(); ; ) {
    if (step.done) return step.value;
    let t: Tensor;
    try {
      const answer = upload(step.value);
      t = answer instanceof Promise ? await answer : answer;
    } catch (error) {
      steps.throw(error); // disposes, then rethrows
      throw error;
    }
    step = steps.next(t);
  }
}

function driveSync(steps: Generator<Upload, Map<string, Tensor>, Tensor>, op: string): Map<string, Tensor> {
  for (let step = steps.next(); ; ) {
    if (step.done) return step.value;
    let t: Tensor;
    try {
      t = fromBytes(op, step.value.bytes, step.value.shape, step.value.dtype);
    } catch (error) {
      steps.throw(error); // disposes, then rethrows
      throw error;
    }
    step = steps.next(t);
  }
}

/**
 * Parses the bytes of a `torch.save` file (zip format) into a state dict, without running
 * any code from it. See {@link loadTorch}.
 * @param source what to call the bytes in error messages (a file name)
 * @example const state = io.parseTorch(readFileSync('resnet18.pth'), { stripPrefix: 'module.' });
 * @throws FormatError (UnpicklingError for a refused pickle) and nothing loaded when the bytes are malformed
 */
export function parseTorch(bytes: Uint8Array, opts: LoadTorchOptions = {}, source = 'buffer'): Map<string, Tensor> {
  checkOptions('parseTorch', opts);
  return driveSync(create('parseTorch', plan(bytesSource(bytes), false, opts, `parseTorch: ${source}`)), 'parseTorch');
}

/**
 * Reads a PyTorch checkpoint (`torch.save`, the zip format of PyTorch 1.6 and later) into a
 * state dict of CPU tensors by name, ready for `module.loadStateDict`, without Python and
 * without running any code from the file: its pickle is read by a restricted unpickler that
 * knows only tensors, storages and dicts, and refuses anything else (UnpicklingError).
 * float32, float16, bfloat16, int32, uint8 and bool tensors load as they are; int64 ones
 * (such as BatchNorm's `num_batches_tracked`) as int32 when every value fits. Views load as
 * copies of the values they show. Entries that are not tensors (numbers, strings) are left
 * out. The file is mapped copy-on-write, as `torch.load(mmap=True)`, and each tensor that is
 * the only one on its storage views its values where they lie in the file, without a copy;
 * writing to such a tensor copies the page it writes and never changes the file (files that
 * cannot be mapped, such as pipes, are read whole). Only the archive's structure and pickle
 * are read here; the values' pages come in where they are first read, as with PyTorch's
 * mmap: ops read them on the device's stream thread, so a file not yet in the page cache
 * never holds the event loop. (Reading every page in on a worker during the load cost more
 * than the load itself on 2 cores: it holds the memory-map lock that V8 and munmap wait on.)
 * Storages' CRC-32s are checked only with `verify` (as torch.load, which does not check
 * them). Do not truncate or rewrite the file in place while its tensors live (neocog's own
 * savers replace files by renaming, which is safe); copy what you keep (`loadStateDict`
 * does). The caller owns the tensors.
 * @example
 * const state = await io.loadTorch('resnet18.pth');
 * model.loadStateDict(state);
 * // A training checkpoint {'model': ..., 'optimizer': ..., 'epoch': 3} saved from DataParallel:
 * const weights = await io.loadTorch('ckpt.pth', { key: 'model', stripPrefix: 'module.' });
 * @throws FormatError (and nothing loaded) if the file is truncated, malformed, in the legacy
 * format, holds a dtype neocog cannot hold or an int64 value outside int32, or is a checkpoint
 * of several parts and `key` is not given (the message lists its keys), or (with `verify`)
 * a storage does not match its CRC-32; UnpicklingError if its pickle asks for anything but
 * tensors and dicts; KeyError if `key` is not in the checkpoint
 */
export async function loadTorch(path: string, opts: LoadTorchOptions = {}): Promise<Map<string, Tensor>> {
  const op = 'loadTorch';
  checkOptions(op, opts);
  // Opened and closed synchronously, as the archive's structure is read (by pread): a local
  // open or close takes microseconds, where a round trip through libuv's thread pool took
  // 0.3-15 ms in a fresh process. What can take long is done without holding the event loop:
  // a file that cannot be mapped is read on the pool, large copies are uploaded in chunks,
  // and the values' pages fault in on the stream thread that reads them.
  const fd = openSync(path, 'r');
  try {
    const mapped = MappedFile.map(fd);
    try {
      const source = mapped ? fileSource(fd, mapped.byteLength) : bytesSource(await readWhole(fd));
      return await drive(create(op, plan(source, mapped !== null, opts, `${op}: ${path}`), mapped), ({ bytes, shape, dtype }) =>
        uploadInChunks(op, bytes.length, (begin, end) => bytes.subarray(begin, end), shape, dtype),
      );
    } finally {
      mapped?.release();
    }
  } finally {
    closeSync(fd);
  }
}

/** A file that cannot be mapped (a pipe), read whole on libuv's thread pool. */
const readWhole = promisify(readFile);

/** Blocking form of {@link loadTorch} (the file's pages are read in as its tensors are first used). */
export function loadTorchSync(path: string, opts: LoadTorchOptions = {}): Map<string, Tensor> {
  const op = 'loadTorchSync';
  checkOptions(op, opts);
  const fd = openSync(path, 'r');
  try {
    const mapped = MappedFile.map(fd);
    try {
      const source = mapped ? fileSource(fd, mapped.byteLength) : bytesSource(readFileSync(fd));
      return driveSync(create(op, plan(source, mapped !== null, opts, `${op}: ${path}`), mapped), op);
    } finally {
      mapped?.release();
    }
  } finally {
    closeSync(fd);
  }
}
