#!/usr/bin/python3
"""The PyTorch side of bench/ops.ts: one workload per op case, in NCHW or channels_last.

bench/torch_peer.py builds a workload with make(case, channels_last) and times its step.
Inputs match bench/ops.ts (shapes, seeds' distributions, options); channels_last puts the
activations (and conv weights, as torch's own channels_last recipe does) in NHWC strides.
"""
from collections import namedtuple

import torch

F = torch.nn.functional
Workload = namedtuple("Workload", ["step", "params"])


def make(case, channels_last):
    kind, shape = case["op"], case["shape"]
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    def act(*dims):
        return torch.randn(*dims).contiguous(memory_format=fmt)

    def no_grad(fn):
        def step():
            with torch.no_grad():
                return fn()
        return Workload(step, None)

    if kind == "matmul":
        m, k, n = shape
        a, b = torch.randn(m, k), torch.randn(k, n)
        return no_grad(lambda: torch.matmul(a, b))
    if kind == "add":
        a, b = torch.randn(*shape), torch.randn(*shape)
        return no_grad(lambda: a + b)
    if kind == "randn":
        return no_grad(lambda: torch.randn(*shape))
    if kind == "contiguous":
        a = torch.randn(*shape).permute(0, 2, 3, 1)
        return no_grad(lambda: a.contiguous())
    if kind in ("conv2d", "conv2d_bf16", "conv2d_train"):
        n, c, h, w, o, k = shape
        x = act(n, c, h, w)
        weight = (torch.randn(o, c, k, k) * 0.05).contiguous(memory_format=fmt)
        if kind == "conv2d_bf16":
            x, weight = x.bfloat16(), weight.bfloat16()
        if kind != "conv2d_train":
            return no_grad(lambda: F.conv2d(x, weight, padding=1))
        x.requires_grad_()
        weight.requires_grad_()

        def train_step():
            y = F.conv2d(x, weight, padding=1)
            y.backward(y.detach())
            x.grad = None
            weight.grad = None

        return Workload(train_step, None)
    if kind == "depthwise":
        x = act(*shape)
        w = torch.randn(shape[1], 1, 3, 3).contiguous(memory_format=fmt)
        return no_grad(lambda: F.conv2d(x, w, padding=1, groups=shape[1]))
    if kind == "conv_transpose":
        n, c, h, w_, o = shape
        x = act(n, c, h, w_)
        w = torch.randn(c, o, 2, 2).contiguous(memory_format=fmt)
        return no_grad(lambda: F.conv_transpose2d(x, w, stride=2))
    if kind == "maxpool":
        x = act(*shape)
        return no_grad(lambda: F.max_pool2d(x, 3, stride=2, padding=1))
    if kind == "batchnorm_train":
        x = act(*shape)
        c = shape[1]
        rm, rv, w, b = torch.zeros(c), torch.ones(c), torch.ones(c), torch.zeros(c)
        return no_grad(lambda: F.batch_norm(x, rm, rv, w, b, training=True))
    if kind == "nms":
        # torchvision's wheels for PyTorch 2.x here are CUDA builds that do not load: the
        # import fails in that peer and the driver reports the case as n/a there.
        import torchvision.ops
        corner = torch.rand(shape[0], 2) * 100
        boxes = torch.cat([corner, corner + torch.rand(shape[0], 2) * 40 + 1], 1)
        scores = torch.rand(shape[0])
        return no_grad(lambda: torchvision.ops.nms(boxes, scores, 0.5))
    raise ValueError(f"torch_ops: unknown op {kind!r}")
