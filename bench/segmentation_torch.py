#!/usr/bin/python3
"""The PyTorch side of bench/segmentation.ts: U-Net training steps, torchvision's DeepLabV3
in eval, and MONAI's sliding-window inference written in torch.

bench/torch_peer.py builds a workload with make(case, channels_last) and times its step.
Each row's settings come from bench/segmentation_cases.ts (the same object neocog builds its
side from), and its weights and inputs from the row's sharedFile, which neocog writes before
any peer builds the row: both sides time the same numbers, and each workload's `check` (the
fingerprint of bench/output_check.ts) lets the driver see that they compute the same output.
The U-Net is tests/fixtures/make_unet_fixtures.py's, the module the U-Net fixtures check
neocog's unet() against. Rows are told apart by "kind" (KINDS, at the bottom).
"""
import json
import os
import struct
import sys
from collections import namedtuple

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_unet_fixtures import UNet  # noqa: E402

Workload = namedtuple("Workload", ["step", "params", "check"])

FINGERPRINT_SAMPLES = 16
_DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8}


def load_safetensors(path):
    """Every tensor of a safetensors file, by name (Debian's torch 1.13 has no safetensors module)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        count = (end - start) // torch.empty((), dtype=dtype).element_size()
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=8 + length + start) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def fingerprint(t):
    """bench/output_check.ts's fingerprint: shape, mean, mean |x| and 16 evenly spaced row-major values."""
    flat = t.detach().contiguous().reshape(-1).double()
    n = flat.numel()
    samples = [flat[k * (n - 1) // (FINGERPRINT_SAMPLES - 1)].item() for k in range(FINGERPRINT_SAMPLES)] if n else []
    return {"shape": list(t.shape), "mean": flat.mean().item() if n else 0.0, "meanAbs": flat.abs().mean().item() if n else 0.0,
            "samples": samples}


def _shared(case):
    """The row's weights (state dict) and inputs (`__input__`, `__target__`) that neocog wrote."""
    if not os.path.exists(case["sharedFile"]):
        raise FileNotFoundError(f"{case['sharedFile']} is missing: neocog writes it when it prepares the row, before the peers")
    tensors = load_safetensors(case["sharedFile"])
    inputs = {k: tensors.pop(k) for k in [k for k in tensors if k.startswith("__")]}
    return tensors, inputs


def _load(model, state):
    """Loads neocog's state dict; it has every tensor but BatchNorm's num_batches_tracked, which eval and SGD never read."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise KeyError(f"segmentation_torch: neocog's weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def _unet(settings):
    return UNet(settings["inChannels"], settings["numClasses"], settings["depth"], settings["baseChannels"])


def _unet_train(case, fmt):
    """One SGD step (momentum) of the U-Net on per-pixel cross entropy."""
    state, inputs = _shared(case)
    model = _load(_unet(case["unet"]), state).train().to(memory_format=fmt)
    x = inputs["__input__"].contiguous(memory_format=fmt)
    y = inputs["__target__"].long()
    with torch.no_grad():
        check = fingerprint(model(x))  # train-mode logits (batch statistics), before any step
    opt = torch.optim.SGD(model.parameters(), lr=case["lr"], momentum=case["momentum"])

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return Workload(step, sum(p.numel() for p in model.parameters()), check)


def _deeplab_eval(case, fmt):
    try:
        from torchvision.models.segmentation import deeplabv3_resnet50
    except ImportError as error:
        raise RuntimeError(f"deeplabv3Resnet50 needs torchvision, which this PyTorch ({torch.__version__}) cannot import: {error}") from None
    state, inputs = _shared(case)
    model = deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=False, num_classes=case["numClasses"])
    model = _load(model, state).eval().to(memory_format=fmt)
    x = inputs["__input__"].contiguous(memory_format=fmt)

    def step():
        with torch.no_grad():
            return model(x)["out"]

    return Workload(step, sum(p.numel() for p in model.parameters()), fingerprint(step()))


def importance_map(roi, sigma_scale):
    """MONAI's compute_importance_map(mode="gaussian") for a square window, as lib/infer's importanceMap:
    a separable Gaussian with sigma = sigma_scale * roi centred between the middle pixels, scaled
    to a maximum of 1 and clamped below at 1e-3."""
    sigma = roi * sigma_scale
    x = torch.arange(roi, dtype=torch.float64) - (roi - 1) / 2
    profile = torch.exp(-x**2 / (2 * sigma * sigma))
    profile = profile / profile.max()
    return torch.outer(profile, profile).clamp(min=1e-3).float()


def window_starts(image, roi, overlap):
    """MONAI's dense_patch_slices along one dim: a stride of int(roi * (1 - overlap)) (at least 1), the
    last window moved back to end at the border."""
    interval = roi if roi == image else max(int(roi * (1 - overlap)), 1)
    starts, start = [], 0
    while True:
        starts.append(min(start, image - roi))
        if start + roi >= image:
            return starts
        start += interval


def sliding_window_inference(image, roi, predictor, overlap, sigma_scale, sw_batch_size):
    """MONAI's sliding_window_inference, reimplemented in torch (MONAI is not installed here) for a
    2-D image at least as large as the window: the same window grid (window_starts), the same
    batches of sw_batch_size windows over all images, each output window times the Gaussian
    importance map added into the output and the map into a count map, then output / count."""
    n, _, h, w = image.shape
    weights = importance_map(roi, sigma_scale)
    windows = [(item, y, x) for item in range(n) for y in window_starts(h, roi, overlap) for x in window_starts(w, roi, overlap)]
    output, count = None, torch.zeros(1, 1, h, w)
    with torch.no_grad():
        for first in range(0, len(windows), sw_batch_size):
            group = windows[first:first + sw_batch_size]
            predicted = predictor(torch.cat([image[item:item + 1, :, y:y + roi, x:x + roi] for item, y, x in group]))
            if output is None:
                output = torch.zeros(n, predicted.shape[1], h, w)
            for k, (item, y, x) in enumerate(group):
                output[item:item + 1, :, y:y + roi, x:x + roi] += predicted[k:k + 1] * weights
                if item == 0:
                    count[:, :, y:y + roi, x:x + roi] += weights
    return output / count


def _sliding_window(case, fmt):
    """The eval U-Net over a large image, window by window (the windows in `fmt`)."""
    state, inputs = _shared(case)
    model = _load(_unet(case["unet"]), state).eval().to(memory_format=fmt)
    image = inputs["__input__"]

    def predictor(tiles):
        return model(tiles.contiguous(memory_format=fmt))

    def step():
        return sliding_window_inference(image, case["roi"], predictor, case["overlap"], case["sigmaScale"], case["swBatchSize"])

    return Workload(step, sum(p.numel() for p in model.parameters()), fingerprint(step()))


def _connected_components(case, fmt):
    """scipy.ndimage.label on neocog's mask: faces-only (4) or full (8) connectivity."""
    try:
        from scipy import ndimage
    except ImportError as error:
        raise RuntimeError(f"connectedComponents needs SciPy, which this Python cannot import: {error}") from None
    _, inputs = _shared(case)
    mask = inputs["__input__"].numpy()
    structure = ndimage.generate_binary_structure(2, 1 if case["connectivity"] == 4 else 2)

    def step():
        return ndimage.label(mask, structure=structure)[0]

    return Workload(step, 0, fingerprint(torch.from_numpy(step())))


# One builder per row kind of bench/segmentation_cases.ts.
KINDS = {"unetTrain": _unet_train, "deeplabEval": _deeplab_eval, "slidingWindow": _sliding_window,
         "connectedComponents": _connected_components}


def make(case, channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if case["kind"] not in KINDS:
        raise ValueError(f"segmentation_torch: unknown row kind {case['kind']!r}")
    return KINDS[case["kind"]](case, fmt)
