#!/usr/bin/python3
"""The PyTorch side of bench/dispatch.ts: microseconds per small op, wall and Python-thread CPU.

Prints one JSON object {"us": {case: [wall us per op, ...]}, "cpuUs": {case: [...]}} for the
cases bench/dispatch.ts names, built the same way (shapes, no grad). Each round times
`count` calls after a warm-up; the result of each call is dropped at once, as a Python loop
frees it. CPU time is this thread's (time.thread_time_ns), which a busy machine disturbs less.
"""
import json
import sys
import time

import torch


def cases():
    a16, b16 = torch.randn(16), torch.randn(16)
    x_nchw = torch.randn(1, 8, 8, 8)
    x_cl = x_nchw.contiguous(memory_format=torch.channels_last)
    w = torch.randn(8, 8, 3, 3) * 0.05
    w_cl = w.contiguous(memory_format=torch.channels_last)
    m4a, m4b = torch.randn(4, 4), torch.randn(4, 4)
    conv = torch.nn.functional.conv2d
    return {
        "add": lambda: a16 + b16,
        "relu": lambda: torch.relu(a16),
        # PyTorch at its best: whichever memory format is faster for it.
        "conv2d": [lambda: conv(x_nchw, w, None, 1, 1), lambda: conv(x_cl, w_cl, None, 1, 1)],
        "matmul": lambda: torch.matmul(m4a, m4b),
    }


def time_us(fn, count):
    start, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for _ in range(count):
        fn()
    return (time.perf_counter_ns() - start) / count / 1e3, (time.thread_time_ns() - cpu) / count / 1e3


def main():
    names, count, rounds = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
    built = cases()
    wall, cpu = {}, {}
    with torch.no_grad():
        for name in names:
            fns = built[name] if isinstance(built[name], list) else [built[name]]
            for fn in fns:
                time_us(fn, min(count, 2000))  # warm-up: primitive creation, caches
            wall[name], cpu[name] = [], []
            for _ in range(rounds):
                best = min((time_us(fn, count) for fn in fns), key=lambda t: t[0])
                wall[name].append(best[0])
                cpu[name].append(best[1])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "us": wall, "cpuUs": cpu}))


if __name__ == "__main__":
    main()
