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
    if kind in ("conv2d", "conv2d_bf16", "conv2d_train"):
        n, c, h, w, o, k = shape
        x = torch.randn(n, c, h, w)
        weight = torch.randn(o, c, k, k) * 0.05
        if kind == "conv2d_bf16":
            x, weight = x.bfloat16(), weight.bfloat16()
        if kind in ("conv2d", "conv2d_bf16"):
            with torch.no_grad():
                return median_ms(lambda: torch.nn.functional.conv2d(x, weight, padding=1), repeats)
        x.requires_grad_()
        weight.requires_grad_()

        def step():
            y = torch.nn.functional.conv2d(x, weight, padding=1)
            y.backward(y.detach())
            x.grad = None
            weight.grad = None

        return median_ms(step, repeats)
    F = torch.nn.functional
    with torch.no_grad():
        if kind == "depthwise":
            x = torch.randn(*shape)
            w = torch.randn(shape[1], 1, 3, 3)
            return median_ms(lambda: F.conv2d(x, w, padding=1, groups=shape[1]), repeats)
        if kind == "conv_transpose":
            n, c, h, w_, o = shape
            x = torch.randn(n, c, h, w_)
            w = torch.randn(c, o, 2, 2)
            return median_ms(lambda: F.conv_transpose2d(x, w, stride=2), repeats)
        if kind == "maxpool":
            x = torch.randn(*shape)
            return median_ms(lambda: F.max_pool2d(x, 3, stride=2, padding=1), repeats)
        if kind == "nms":
            import torchvision.ops
            corner = torch.rand(shape[0], 2) * 100
            boxes = torch.cat([corner, corner + torch.rand(shape[0], 2) * 40 + 1], 1)
            scores = torch.rand(shape[0])
            return median_ms(lambda: torchvision.ops.nms(boxes, scores, 0.5), repeats)
        if kind == "batchnorm_train":
            x = torch.randn(*shape)
            c = shape[1]
            rm, rv, w, b = torch.zeros(c), torch.ones(c), torch.ones(c), torch.zeros(c)
            return median_ms(lambda: F.batch_norm(x, rm, rv, w, b, training=True), repeats)
    raise ValueError(kind)


torch.set_num_threads(os.cpu_count())  # Debian's build defaults to 1 thread here
cases = json.load(sys.stdin)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": [run(c) for c in cases]}))
