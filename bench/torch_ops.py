#!/usr/bin/python3
"""PyTorch side of bench/ops.ts: reads the cases as JSON on stdin, prints median ms per case."""
import json
import os
import sys
import time

import torch


def median_ms(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def run(case):
    kind, shape, repeats = case["op"], case["shape"], case["repeats"]
    torch.manual_seed(0)
    if kind == "matmul":
        m, k, n = shape
        a, b = torch.randn(m, k), torch.randn(k, n)
        return median_ms(lambda: torch.matmul(a, b), repeats)
    if kind == "add":
        a, b = torch.randn(*shape), torch.randn(*shape)
        return median_ms(lambda: a + b, repeats)
    if kind == "randn":
        return median_ms(lambda: torch.randn(*shape), repeats)
    if kind == "contiguous":
        a = torch.randn(*shape).permute(0, 2, 3, 1)
        return median_ms(lambda: a.contiguous(), repeats)
    raise ValueError(kind)


torch.set_num_threads(os.cpu_count())  # Debian's build defaults to 1 thread here
cases = json.load(sys.stdin)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": [run(c) for c in cases]}))
