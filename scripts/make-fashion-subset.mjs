// Builds the bundled Fashion-MNIST data of examples/data/fashion-mnist from the IDX files
// of Debian's dataset-fashion-mnist package: the official 10k test set unchanged, and a
// class-balanced training subset (the first 1200 images of each class, in file order).
//   node scripts/make-fashion-subset.mjs [/usr/share/datasets/fashion-mnist]
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const source = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const target = new URL('../examples/data/fashion-mnist/', import.meta.url).pathname;
const perClass = 1200;

const images = gunzipSync(readFileSync(join(source, 'train-images-idx3-ubyte.gz')));
const labels = gunzipSync(readFileSync(join(source, 'train-labels-idx1-ubyte.gz')));
const count = labels.readUInt32BE(4);
const pixels = 28 * 28;
const taken = new Array(10).fill(0);
const chosen = [];
for (let i = 0; i < count && chosen.length < perClass * 10; ++i) {
  const label = labels[8 + i];
  if (taken[label] < perClass) {
    taken[label]++;
    chosen.push(i);
  }
}
const imageHeader = Buffer.alloc(16);
imageHeader.writeUInt32BE(0x00000803, 0);
imageHeader.writeUInt32BE(chosen.length, 4);
imageHeader.writeUInt32BE(28, 8);
imageHeader.writeUInt32BE(28, 12);
const labelHeader = Buffer.alloc(8);
labelHeader.writeUInt32BE(0x00000801, 0);
labelHeader.writeUInt32BE(chosen.length, 4);
const imageData = Buffer.concat([imageHeader, ...chosen.map((i) => images.subarray(16 + i * pixels, 16 + (i + 1) * pixels))]);
const labelData = Buffer.concat([labelHeader, Buffer.from(chosen.map((i) => labels[8 + i]))]);
writeFileSync(join(target, 'train-subset-images-idx3-ubyte.gz'), gzipSync(imageData, { level: 9 }));
writeFileSync(join(target, 'train-subset-labels-idx1-ubyte.gz'), gzipSync(labelData, { level: 9 }));
for (const name of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(join(source, name), join(target, name));
console.log(`wrote ${chosen.length} training images (${perClass} per class) and the 10k test set to ${target}`);
