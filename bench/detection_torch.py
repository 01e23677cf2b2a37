#!/usr/bin/python3
"""The PyTorch side of bench/detection.ts: torchvision 0.14's detection ops and detectors.

bench/torch_peer.py builds a workload with make(case, channels_last) and times its step.
Each row's settings come from bench/detection_cases.ts (the same object neocog builds its
side from). The detectors are built as torchvision's factories build them for a pretrained
backbone (FrozenBatchNorm2d, 3 trainable stages), which is the layout neocog's factories
always build; the weights are random on both sides (timing does not need the same ones).
"""
from collections import namedtuple

import torch

import torch_ops

Workload = namedtuple("Workload", ["step", "params"])


def _random_boxes(n):
    """xyxy boxes: corner in [0, 100), size in [1, 41), as bench/op_builders.ts makes them."""
    corner = torch.rand(n, 2) * 100
    return torch.cat([corner, corner + torch.rand(n, 2) * 40 + 1], 1)


def _roi_align_train(shape, fmt):
    """roi_align forward and backward: the gradient of the input for a fixed upstream gradient."""
    import torchvision.ops
    n, c, h, w, k, size = shape
    x = torch.randn(n, c, h, w).contiguous(memory_format=fmt).requires_grad_()
    batch = torch.randint(0, n, (k, 1)).float()
    rois = torch.cat([batch, _random_boxes(k) * (16 * min(h, w) / 141)], 1)
    grad = torch.randn(k, c, size, size)

    def step():
        torchvision.ops.roi_align(x, rois, size, 1 / 16, 2, True).backward(grad)
        x.grad = None

    return Workload(step, None)


def build_detector(name, settings):
    """torchvision's detector as its factory builds it with a pretrained backbone, on random weights."""
    from torchvision.models import resnet50
    from torchvision.models.detection import FasterRCNN, RetinaNet
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    trainable = settings["trainableBackboneLayers"]
    common = {"min_size": settings["minSize"], "max_size": settings["maxSize"]}
    if name == "fasterrcnnResnet50Fpn":
        backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), trainable)
        return FasterRCNN(backbone, settings["numClasses"], box_score_thresh=settings["scoreThresh"],
                          box_detections_per_img=settings["detectionsPerImg"], **common)
    if name == "retinanetResnet50Fpn":
        backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), trainable, returned_layers=[2, 3, 4],
                                         extra_blocks=LastLevelP6P7(256, 256))
        return RetinaNet(backbone, settings["numClasses"], score_thresh=settings["scoreThresh"],
                         detections_per_img=settings["detectionsPerImg"], **common)
    raise ValueError(f"detection_torch: unknown detector {name!r}")


def _detector(case, fmt):
    model = build_detector(case["name"], case["settings"]).to(memory_format=fmt)
    images = [torch.rand(3, case["size"], case["size"]) for _ in range(case["batch"])]
    params = sum(p.numel() for p in model.parameters())
    if case["mode"] == "eval":
        model.eval()

        def detect():
            with torch.no_grad():
                model(images)

        return Workload(detect, params)
    model.train()
    targets = [{"boxes": torch.tensor(t["boxes"], dtype=torch.float32), "labels": torch.tensor(t["labels"], dtype=torch.int64)}
               for t in case["targets"]]
    # A small learning rate keeps the random model near where it started over the rounds,
    # so every timed step does the same work (neocog's side uses the same).
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def train_step():
        opt.zero_grad()
        sum(model(images, targets).values()).backward()
        opt.step()

    return Workload(train_step, params)


def make(case, channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if case["kind"] == "model":
        return _detector(case, fmt)
    if case["name"] == "roiAlignTrain":
        return _roi_align_train(case["shape"], fmt)
    # nms and batchedNms: bench/ops.ts's cases of the same names.
    return torch_ops.make({"op": case["name"], "shape": case["shape"]}, channels_last)
