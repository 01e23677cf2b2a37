#!/usr/bin/python3
"""The scipy side of bench/connected_components.ts: scipy.ndimage.label on one mask.

    /usr/bin/python3 bench/connected_components_scipy.py MASK_PATH SIZE REPEATS [--make]

With --make it first writes the benchmark mask to MASK_PATH (raw uint8, SIZE x SIZE): uniform
noise smoothed by a Gaussian (sigma 4) and cut at its median, so blobs cover half the image.
Then it times `ndimage.label` with connectivity 4 and 8 (generate_binary_structure(2, 1 | 2)),
REPEATS times each after one warm-up, and prints one JSON line: per connectivity the
milliseconds of each run and the component count.
"""
import json
import sys
import time

import numpy as np
from scipy import ndimage


def make_mask(path, size):
    rng = np.random.default_rng(14)
    noise = ndimage.gaussian_filter(rng.random((size, size), dtype=np.float32), 4)
    mask = (noise > np.median(noise)).astype(np.uint8)
    mask.tofile(path)


def main():
    path, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if "--make" in sys.argv[4:]:
        make_mask(path, size)
    mask = np.fromfile(path, dtype=np.uint8).reshape(size, size).astype(bool)
    out = {"scipy": __import__("scipy").__version__}
    for connectivity, rank in ((4, 1), (8, 2)):
        structure = ndimage.generate_binary_structure(2, rank)
        _, count = ndimage.label(mask, structure)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ndimage.label(mask, structure)
            times.append((time.perf_counter() - start) * 1000)
        out[str(connectivity)] = {"ms": times, "count": int(count)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
