/**
 * A file mapped copy-on-write as one CPU storage (binding/mapped_file.cc): io.loadTorch's
 * tensors view their values where they lie in the file instead of reading the file into a
 * buffer and copying each tensor out of it (issue 17: torch.load's speed; torch.load(mmap=True)
 * does the same). A write to such a tensor copies its page and never reaches the file. The
 * mapping lives until this handle is released and every tensor on it is disposed or
 * collected. The first few live mappings are not reported to V8: their pages are clean page
 * cache the kernel can reclaim, and reporting 100 MB per load made V8 run a 15-25 ms
 * mark-compact after each one (loads of 12 ms took 40-90), even when the caller disposes
 * every tensor. Past those, a mapping is reported as other tensors' memory is (once tensors
 * on it outlive the job that made them), so that a loop that drops loaded state dicts
 * without disposing them gets them collected: with none reported, 100 loads of a 100 MB file
 * stayed mapped (RSS 8 GB) before a collection came.
 * @internal
 * @module
 */
import { native } from '../native.js';
import { dtypeSize, type DType } from '../tensor/dtype.js';
import { SharedStorage } from '../tensor/memory.js';
import { contiguousStrides } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** How many mappings may live without being reported to V8 (see the module's comment). */
const MAX_UNREPORTED_MAPPINGS = 4;
let unreportedMappings = 0;

/** @internal */
export class MappedFile {
  #storage: SharedStorage | null;
  /** The file's length when it was mapped: what the mapping covers. */
  readonly byteLength: number;

  private constructor(id: number) {
    this.byteLength = native.storageBytes(id);
    if (unreportedMappings < MAX_UNREPORTED_MAPPINGS) {
      unreportedMappings += 1;
      this.#storage = SharedStorage.unreported(id, this.byteLength, () => (unreportedMappings -= 1));
    } else {
      this.#storage = new SharedStorage(id, this.byteLength);
    }
  }

  /** The file open as `fd`, mapped (its pages read in as tensors touch them); null where it cannot be. */
  static map(fd: number): MappedFile | null {
    const id = native.mapFile(fd);
    return id === null ? null : new MappedFile(id);
  }

  /**
   * A contiguous tensor over the file's bytes from `byteOffset`, without a copy. The caller
   * has checked that they lie inside the file and that `byteOffset` is a multiple of the
   * element size and of 4 (kernels read whole elements; the mapping starts on a page).
   */
  tensorAt<D extends DType>(op: string, byteOffset: number, shape: readonly number[], dtype: D): Tensor<D> {
    return new Tensor<D>(this.#storage!.acquire(), shape, contiguousStrides(shape), byteOffset / dtypeSize(dtype), dtype, 'cpu', op);
  }

  /** Drops this handle's reference; tensors made by {@link tensorAt} keep the mapping. */
  release(): void {
    this.#storage?.release();
    this.#storage = null;
  }
}
