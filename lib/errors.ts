/**
 * Typed errors (DESIGN §7). Every message names the function, the argument, what was
 * expected and what came, e.g. `conv2d: expected weight rank 4, got 3`.
 * @module
 */

/** Base class of every error neocog throws on purpose. */
export class NeocogError extends Error {
  override name = 'NeocogError';
}

/** A tensor has the wrong rank, size or a shape that does not broadcast. */
export class ShapeError extends NeocogError {
  override name = 'ShapeError';
}

/** A tensor has a dtype the operation does not accept, or operands' dtypes differ. */
export class DTypeError extends NeocogError {
  override name = 'DTypeError';
}

/** Operands live on different devices, or a device is unavailable (the message says why). */
export class DeviceError extends NeocogError {
  override name = 'DeviceError';
}

/** A file or buffer is truncated or malformed. Nothing was loaded. */
export class FormatError extends NeocogError {
  override name = 'FormatError';
}

/**
 * A pickle (inside a PyTorch checkpoint) asks for something the restricted unpickler refuses:
 * a global outside its list (such as `os.system`), a call of anything but a known
 * constructor, or an opcode it does not implement. Nothing was run and nothing was loaded.
 */
export class UnpicklingError extends FormatError {
  override name = 'UnpicklingError';
}

/** A device ran out of memory; the caching allocator was emptied and the retry failed too. */
export class OutOfMemoryError extends NeocogError {
  override name = 'OutOfMemoryError';
}

/** An index is out of range (often detected by a queued kernel). */
export class IndexError extends NeocogError {
  override name = 'IndexError';
}

/** A tensor was used after `dispose()` (directly or by an enclosing `scope`). */
export class DisposedError extends NeocogError {
  override name = 'DisposedError';
}

/** An argument has the wrong type or value (not a shape/dtype/device problem). */
export class ArgumentError extends NeocogError {
  override name = 'ArgumentError';
}

/** A name that should be there is missing, or one that should not is present (state-dict keys). */
export class KeyError extends NeocogError {
  override name = 'KeyError';
}

/** A bounded queue is full: the work was refused at once rather than queued (InferenceSession.submit). */
export class BusyError extends NeocogError {
  override name = 'BusyError';
}

/**
 * A worker thread failed: it could not build what it runs (its factory threw or returned
 * the wrong thing), or it died. `cause` holds the worker's own error when there is one.
 */
export class WorkerError extends NeocogError {
  override name = 'WorkerError';
}

/**
 * A collective or the process group failed: a peer process died or left, the job's
 * environment is incomplete, or MPI/NCCL refused the call (the message says which).
 */
export class DistributedError extends NeocogError {
  override name = 'DistributedError';
}

const byKind: Record<string, new (message: string) => NeocogError> = {
  ShapeError,
  DTypeError,
  DeviceError,
  FormatError,
  OutOfMemoryError,
  IndexError,
  DisposedError,
  DistributedError,
  NeocogError,
};

/** Converts an error thrown by the addon (which carries `kind`) into its typed class. */
export function fromNativeError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof NeocogError) return error;
  const kind = (error as Error & { kind?: unknown }).kind;
  if (typeof kind !== 'string') return error;
  const Typed = byKind[kind] ?? NeocogError;
  const typed = new Typed(error.message);
  if (error.stack) typed.stack = `${typed.name}: ${error.message}\n${error.stack.split('\n').slice(1).join('\n')}`;
  return typed;
}
