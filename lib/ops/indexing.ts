/**
 * Indexing ops.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, emptyLike, zeros } from '../tensor/creation.js';
import { normalizeDim } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/**
 * Picks entries of `input` along `dim` at the positions in `index` (1-d int32), as
 * `torch.index_select`. Index values are checked when the op runs (they may not be known
 * yet when it is queued): an out-of-range value rejects `data()` of the result with an
 * IndexError, and the next op call throws it if nothing read the result first.
 *
 * @example
 * indexSelect(x, 0, tensor([2, 0])) // rows 2 and 0 of x
 */
export function indexSelect<D extends DType>(input: Tensor<D>, dim: number, index: Tensor): Tensor<D> {
  checkTensor('indexSelect', 'input', input);
  checkTensor('indexSelect', 'index', index);
  checkSameDevice('indexSelect', { input, index });
  checkDTypeIn('indexSelect', 'index', index, ['int32']);
  if (index.ndim > 1) throw new ShapeError(`indexSelect: expected index to be 0-d or 1-d, got ${index.ndim}-d`);
  const d = normalizeDim('indexSelect', dim, input.ndim);
  const source = input.ndim === 0 ? input.reshape([1]) : input;
  try {
    const shape = [...source.shape];
    shape[d] = index.numel;
    // In the input's memory format (a dense permutation such as channels-last; row-major
    // otherwise): the native kernel then copies whole runs (a pixel's channels) rather than
    // element by element, and what follows (FPN's add, a conv) gets the layout it wants.
    const out = emptyLike('indexSelect', source, shape, input.dtype);
    const flatIndex = index._nativeAs('indexSelect', 'index', [index.numel], [index.ndim === 0 ? 1 : index.strides[0]!]);
    native.indexSelect('indexSelect', out._native('indexSelect', 'out'), source._native('indexSelect', 'input'), d, flatIndex);
    if (!needsGrad(input)) return out;
    const savedIndex = saveForBackward(index);
    const inputShape = source.shape;
    const finalShape = input.shape;
    return record(
      'indexSelect',
      out,
      [input],
      (g) => {
        // index_add of the gradient slices into zeros: repeated indices accumulate.
        const grad = zeros(inputShape, { device: g.device });
        const contiguous = g.contiguous();
        native.indexAdd('indexSelectBackward', grad._native('indexSelect', 'out'), d, savedIndex._nativeAs('indexSelect', 'index', [savedIndex.numel], [savedIndex.ndim === 0 ? 1 : savedIndex.strides[0]!]), contiguous._native('indexSelect', 'grad'));
        return [grad.reshape(finalShape)];
      },
      [savedIndex],
    );
  } finally {
    if (source !== input) source.dispose();
  }
}

/**
 * Values of `input` along `dim` at the positions in `index` (int32, same rank; its sizes
 * may be smaller than input's outside `dim`), as `torch.gather`. Out-of-range values are
 * reported by the kernel as an IndexError (see indexSelect).
 *
 * @example
 * gather(logProbs, 1, target.unsqueeze(1)) // [N, 1]: each row's value at its target
 */
export function gather<D extends DType>(input: Tensor<D>, dim: number, index: Tensor): Tensor<D> {
  checkTensor('gather', 'input', input);
  checkTensor('gather', 'index', index);
  checkSameDevice('gather', { input, index });
  checkDTypeIn('gather', 'index', index, ['int32']);
  const d = normalizeDim('gather', dim, input.ndim);
  if (index.ndim !== input.ndim || index.shape.some((s, i) => i !== d && s > input.shape[i]!)) {
    throw new ShapeError(
      `gather: expected index of rank ${input.ndim} with sizes <= input's outside dim ${d}, got [${index.shape.join(', ')}] for input [${input.shape.join(', ')}]`,
    );
  }
  const out = empty('gather', index.shape, input.dtype, input.device);
  native.gather('gather', out._native('gather', 'out'), input._native('gather', 'input'), d, index._native('gather', 'index'));
  if (!needsGrad(input)) return out;
  const savedIndex = saveForBackward(index);
  const inputShape = input.shape;
  return record(
    'gather',
    out,
    [input],
    (g) => {
      const grad = zeros(inputShape, { device: g.device });
      native.scatterAdd('gatherBackward', grad._native('gather', 'out'), d, savedIndex._native('gather', 'index'), g._native('gather', 'grad'));
      return [grad];
    },
    [savedIndex],
  );
}
