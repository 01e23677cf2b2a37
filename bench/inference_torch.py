#!/usr/bin/python3
"""The PyTorch side of bench/inference.ts: torchvision classifiers in eval under no_grad.

bench/torch_peer.py builds a workload with make(case, channels_last) and times its step. The
row's settings come from bench/inference_cases.ts, its weights and input from the row's
sharedFile, which neocog writes before any peer builds the row. The NCHW build also exports
the model to the row's onnxFile, which bench/ort_peer.ts (onnxruntime-node) runs after it:
every contender computes the same output from the same numbers, and each reports its
fingerprint (bench/output_check.ts) so the driver can compare them.
"""
import os

import torch

from segmentation_torch import Workload, fingerprint, load_safetensors


def _model(case):
    try:
        import torchvision.models as models
    except ImportError as error:
        raise RuntimeError(f"{case['model']} needs torchvision, which this PyTorch ({torch.__version__}) cannot import: {error}") from None
    model = getattr(models, case["model"])(weights=None)
    if not os.path.exists(case["sharedFile"]):
        raise FileNotFoundError(f"{case['sharedFile']} is missing: neocog writes it when it prepares the row, before the peers")
    state = load_safetensors(case["sharedFile"])
    x = state.pop("__input__")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]  # eval never reads it
    if missing or unexpected:
        raise KeyError(f"inference_torch: neocog's weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval(), x


def make(case, channels_last):
    model, x = _model(case)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if not channels_last:
        # The same weights for onnxruntime, with a batch dimension of any size.
        torch.onnx.export(model, x, case["onnxFile"], input_names=["input"], output_names=["logits"], opset_version=13,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    model = model.to(memory_format=fmt)
    x = x.contiguous(memory_format=fmt)

    def step():
        with torch.no_grad():
            return model(x)

    return Workload(step, sum(p.numel() for p in model.parameters()), fingerprint(step()))
