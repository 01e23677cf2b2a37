// Extracted CIFAR binary archives written by the data tests: records whose pixels say which
// record, channel and position they are.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Pixel value of record `n`, channel `c`, position `p`: distinct per record and plane. */
export const pixel = (n: number, c: number, p: number) => (n * 7 + c * 50 + p) % 256;

/** A CIFAR binary file of `labels.length` records, numbered from `first`. */
export function records(first: number, labels: number[][]): Buffer {
  return Buffer.concat(
    labels.map((label, i) => {
      const image = Buffer.alloc(3072);
      for (let c = 0; c < 3; ++c) for (let p = 0; p < 1024; ++p) image[c * 1024 + p] = pixel(first + i, c, p);
      return Buffer.concat([Buffer.from(label), image]);
    }),
  );
}

/** An extracted CIFAR-10 archive: 5 training files of 2 records, a test file of 3. */
export function cifar10(dir: string, meta = true): string {
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  for (let f = 1; f <= 5; ++f) writeFileSync(join(folder, `data_batch_${f}.bin`), records(2 * (f - 1), [[f], [9 - f]]));
  writeFileSync(join(folder, 'test_batch.bin'), records(0, [[0], [1], [2]]));
  if (meta) writeFileSync(join(folder, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  return folder;
}
