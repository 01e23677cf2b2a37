// pycocotools' uncompressed RLE of a mask, as the COCO fixtures store its masks.

/** Column-major run lengths of a row-major 0/1 mask plane `[h, w]`, starting with 0s. */
export function countsOf(mask: ArrayLike<number>, h: number, w: number): number[] {
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  for (let x = 0; x < w; ++x) {
    for (let y = 0; y < h; ++y) {
      if (mask[y * w + x] !== value) {
        counts.push(run);
        value = mask[y * w + x]!;
        run = 0;
      }
      ++run;
    }
  }
  counts.push(run);
  return counts;
}
