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
    per_op = _per_op_workload(kind, shape, act, no_grad)
    if per_op is not None:
        return per_op
    raise ValueError(f"torch_ops: unknown op {kind!r}")


# The cases named by neocog's op names (bench/cases.ts; neocog's side in bench/op_builders.ts).
UNARY = {
    "abs": torch.abs, "elu": F.elu, "exp": torch.exp, "gelu": F.gelu, "hardswish": F.hardswish,
    "leakyRelu": F.leaky_relu, "log": torch.log, "neg": torch.neg, "reciprocal": torch.reciprocal,
    "relu": F.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid, "silu": F.silu, "sqrt": torch.sqrt, "square": torch.square,
    "tanh": torch.tanh, "floor": torch.floor, "ceil": torch.ceil, "round": torch.round,
}
PAIRWISE = {
    "sub": torch.sub, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum, "minimum": torch.minimum,
    "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
    "cat": lambda a, b: torch.cat([a, b], 1), "stack": lambda a, b: torch.stack([a, b], 1),
}
ON_ACTIVATION = {
    "sum": lambda x: x.sum((2, 3)), "mean": lambda x: x.mean((2, 3)), "amax": lambda x: x.amax((2, 3)),
    "amin": lambda x: x.amin((2, 3)), "sumTo": lambda x: x.sum((0, 2, 3), keepdim=True),
    "variance": lambda x: x.var((0, 2, 3)), "std": lambda x: x.std((0, 2, 3)), "clamp": lambda x: x.clamp(-0.5, 0.5),
    "argmax": lambda x: x.argmax(1), "argmin": lambda x: x.argmin(1),
    "cumsum": lambda x: x.cumsum(1), "cumprod": lambda x: x.cumprod(1),
    "sort": lambda x: x.sort(1), "argsort": lambda x: x.argsort(1), "topk": lambda x: x.topk(5, 1),
    "maxAlong": lambda x: x.max(1), "minAlong": lambda x: x.min(1),
    "quantile": lambda x: torch.quantile(x, torch.tensor([0.25, 0.5, 0.75]), dim=1),
    "histc": lambda x: torch.histc(x, 100, -3, 3),
    "maxPool1d": lambda x: F.max_pool1d(x, 2), "maxPool3d": lambda x: F.max_pool3d(x, 2),
    "avgPool1d": lambda x: F.avg_pool1d(x, 2), "avgPool2d": lambda x: F.avg_pool2d(x, 2), "avgPool3d": lambda x: F.avg_pool3d(x, 2),
    "adaptiveAvgPool1d": lambda x: F.adaptive_avg_pool1d(x, 7), "adaptiveAvgPool2d": lambda x: F.adaptive_avg_pool2d(x, 7),
    "adaptiveAvgPool3d": lambda x: F.adaptive_avg_pool3d(x, 7), "adaptiveMaxPool2d": lambda x: F.adaptive_max_pool2d(x, 7),
    "globalAvgPool2d": lambda x: F.adaptive_avg_pool2d(x, 1),
    "groupNorm": lambda x: F.group_norm(x, 32), "instanceNorm": lambda x: F.instance_norm(x),
    "layerNorm": lambda x: F.layer_norm(x, [x.shape[-1]]),
    "dropout": lambda x: F.dropout(x, 0.5, training=True), "dropout2d": lambda x: F.dropout2d(x, 0.5, training=True),
    # torchvision.ops.stochastic_depth(x, 0.2, "row", training=True), as it computes it (its 2.x wheels do not load here).
    "stochasticDepth": lambda x: x * torch.empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(0.8).div_(0.8),
    "softmax": lambda x: F.softmax(x, 1), "logSoftmax": lambda x: F.log_softmax(x, 1),
    "interpolate": lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
    "flip": lambda x: x.flip(3), "roll": lambda x: x.roll((1, 1), (2, 3)), "rot90": lambda x: x.rot90(1, (2, 3)),
    "pad": lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
    "pixelShuffle": lambda x: F.pixel_shuffle(x, 2), "pixelUnshuffle": lambda x: F.pixel_unshuffle(x, 2),
    "copyTo": lambda x: x.to(torch.bfloat16),
}
BOX_PAIRS = {"boxIou": "box_iou", "generalizedBoxIou": "generalized_box_iou", "distanceBoxIou": "distance_box_iou",
             "completeBoxIou": "complete_box_iou"}
BOX_LOSSES = {"generalizedBoxIouLoss": "generalized_box_iou_loss", "distanceBoxIouLoss": "distance_box_iou_loss",
              "completeBoxIouLoss": "complete_box_iou_loss"}
THETA = [[[0.9, -0.2, 0.05], [0.2, 0.9, -0.05]]]


def _random_boxes(n):
    corner = torch.rand(n, 2) * 100
    return torch.cat([corner, corner + torch.rand(n, 2) * 40 + 1], 1)


def _soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Gaussian soft-NMS (Bodla et al. 2017) as a PyTorch user writes it: torchvision has none."""
    import torchvision.ops
    scores = scores.clone()
    alive = torch.nonzero(scores >= score_threshold).flatten()
    kept = []
    while alive.numel() > 0:
        best = alive[torch.argmax(scores[alive])]
        kept.append(best)
        alive = alive[alive != best]
        iou = torchvision.ops.box_iou(boxes[best].unsqueeze(0), boxes[alive]).squeeze(0)
        scores[alive] *= torch.exp(-(iou * iou) / sigma)
        alive = alive[scores[alive] >= score_threshold]
    return torch.stack(kept) if kept else torch.zeros(0, dtype=torch.long)


def _per_op_workload(kind, shape, act, no_grad):
    """The workload of a case named by neocog's op name, or None."""
    if kind in UNARY:
        x, fn = torch.rand(*shape) + 0.5, UNARY[kind]
        return no_grad(lambda: fn(x))
    if kind in PAIRWISE:
        a, b, fn = torch.randn(*shape), torch.randn(*shape), PAIRWISE[kind]
        return no_grad(lambda: fn(a, b))
    if kind == "pow":
        a, b = torch.rand(*shape) + 0.5, torch.randn(*shape)
        return no_grad(lambda: torch.pow(a, b))
    if kind == "where":
        a, b = torch.randn(*shape), torch.randn(*shape)
        condition = a > 0
        return no_grad(lambda: torch.where(condition, a, b))
    if kind in ON_ACTIVATION:
        x, fn = act(*shape), ON_ACTIVATION[kind]
        return no_grad(lambda: fn(x))
    if kind == "indexSelect":
        x, index = torch.randn(*shape), torch.randint(0, shape[0], (4096,))
        return no_grad(lambda: x.index_select(0, index))
    if kind in ("nonzero", "nonzeroAsync", "maskedSelect", "maskedSelectAsync", "booleanMask", "booleanMaskAsync"):
        # neocog's async forms: the peer's call is the same
        x = torch.randn(*shape)
        mask = x > 0
        rows = mask[:, 0].contiguous()
        call = {"nonzero": lambda: torch.nonzero(mask), "maskedSelect": lambda: torch.masked_select(x, mask),
                "booleanMask": lambda: x[rows]}[kind.removesuffix("Async")]
        return no_grad(call)
    if kind in ("gather", "scatterAdd"):
        x, index = torch.randn(*shape), torch.randint(0, shape[1], tuple(shape))
        if kind == "gather":
            return no_grad(lambda: x.gather(1, index))
        base = torch.zeros(*shape)
        return no_grad(lambda: base.scatter_add(1, index, x))
    if kind == "linear":
        n, k, m = shape
        x, w, b = torch.randn(n, k), torch.randn(m, k) * 0.02, torch.randn(m)
        return no_grad(lambda: F.linear(x, w, b))
    if kind in ("conv1d", "conv3d"):
        x = torch.randn(*shape)
        w = torch.randn(shape[1], shape[1], *([3] * (len(shape) - 2))) * 0.05
        conv = F.conv1d if kind == "conv1d" else F.conv3d
        return no_grad(lambda: conv(x, w, padding=1))
    if kind in ("convTranspose1d", "convTranspose3d"):
        x = torch.randn(*shape)
        w = torch.randn(shape[1], shape[1] // 2, *([2] * (len(shape) - 2)))
        conv = F.conv_transpose1d if kind == "convTranspose1d" else F.conv_transpose3d
        return no_grad(lambda: conv(x, w, stride=2))
    if kind == "crossEntropy":
        logits, labels = torch.randn(*shape), torch.randint(0, shape[1], (shape[0],))
        return no_grad(lambda: F.cross_entropy(logits, labels))
    if kind in ("gridSample", "affineGrid"):
        theta = torch.tensor(THETA).expand(shape[0], 2, 3).contiguous()
        if kind == "affineGrid":
            return no_grad(lambda: F.affine_grid(theta, shape, align_corners=False))
        x = act(*shape)
        grid = F.affine_grid(theta, shape, align_corners=False)
        return no_grad(lambda: F.grid_sample(x, grid, align_corners=False))
    if kind == "maxUnpool2d":
        values, indices = F.max_pool2d(act(*shape), 2, return_indices=True)
        return no_grad(lambda: F.max_unpool2d(values, indices, 2))
    if kind == "maskedFill":
        x = torch.randn(*shape)
        mask = x > 1
        return no_grad(lambda: x.masked_fill(mask, 0))
    if kind == "oneHot":
        labels = torch.randint(0, 21, tuple(shape))
        return no_grad(lambda: F.one_hot(labels, 21))
    if kind == "copyInto":
        src = torch.randn(*shape)
        dst = torch.zeros(shape[0], 2 * shape[1], *shape[2:])
        return no_grad(lambda: dst[:, :shape[1]].copy_(src))
    if kind == "zerosOn":
        return no_grad(lambda: torch.zeros(*shape))
    if kind == "meshgrid":
        ys, xs = torch.arange(shape[0], dtype=torch.float32), torch.arange(shape[1], dtype=torch.float32)
        return no_grad(lambda: torch.meshgrid(ys, xs, indexing="ij"))
    # torchvision.ops (PyTorch 1.13's only: see "nms" above).
    if kind in ("softNms", "softNmsAsync"):  # neocog's asynchronous form; the peer's call is the same
        boxes, scores = _random_boxes(shape[0]), torch.rand(shape[0])
        return no_grad(lambda: _soft_nms(boxes, scores))
    box_kinds = ("nmsAsync", "batchedNms", "batchedNmsAsync", "boxArea", "boxConvert", "roiAlign", "roiPool", "psRoiAlign",
                 "clipBoxesToImage", "removeSmallBoxes", "removeSmallBoxesAsync", "sigmoidFocalLoss")
    if kind in box_kinds or kind in BOX_PAIRS or kind in BOX_LOSSES:
        import torchvision.ops
        if kind in BOX_PAIRS:
            a, b, fn = _random_boxes(shape[0]), _random_boxes(shape[1]), getattr(torchvision.ops, BOX_PAIRS[kind])
            return no_grad(lambda: fn(a, b))
        if kind in BOX_LOSSES:
            a, b, fn = _random_boxes(shape[0]), _random_boxes(shape[0]), getattr(torchvision.ops, BOX_LOSSES[kind])
            return no_grad(lambda: fn(a, b, reduction="sum"))
        if kind == "sigmoidFocalLoss":
            logits, targets = torch.randn(*shape), (torch.rand(*shape) < 0.01).float()
            return no_grad(lambda: torchvision.ops.sigmoid_focal_loss(logits, targets, reduction="sum"))
        if kind in ("roiAlign", "roiPool", "psRoiAlign"):
            n, c, h, w, k = shape
            x = act(n, c, h, w)
            batch = torch.randint(0, n, (k, 1)).float()
            rois = torch.cat([batch, _random_boxes(k) * (16 * min(h, w) / 141)], 1)
            if kind == "roiPool":
                return no_grad(lambda: torchvision.ops.roi_pool(x, rois, 7, 1 / 16))
            if kind == "psRoiAlign":
                return no_grad(lambda: torchvision.ops.ps_roi_align(x, rois, 7, 1 / 16, 2))
            return no_grad(lambda: torchvision.ops.roi_align(x, rois, 7, 1 / 16, 2, True))
        boxes = _random_boxes(shape[0])
        if kind == "boxArea":
            return no_grad(lambda: torchvision.ops.box_area(boxes))
        if kind == "boxConvert":
            return no_grad(lambda: torchvision.ops.box_convert(boxes, "xyxy", "cxcywh"))
        if kind == "clipBoxesToImage":
            wild = boxes * 1.2 - 20
            return no_grad(lambda: torchvision.ops.clip_boxes_to_image(wild, (100, 100)))
        if kind in ("removeSmallBoxes", "removeSmallBoxesAsync"):  # neocog's asynchronous form: the same call here
            return no_grad(lambda: torchvision.ops.remove_small_boxes(boxes, 10))
        scores = torch.rand(shape[0])
        if kind == "nmsAsync":  # neocog's asynchronous form; PyTorch's call is the same nms
            return no_grad(lambda: torchvision.ops.nms(boxes, scores, 0.5))
        idxs = torch.randint(0, 80, (shape[0],))
        return no_grad(lambda: torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))
    return None
