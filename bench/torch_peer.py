#!/usr/bin/python3
"""A long-lived PyTorch peer of bench/ops.ts, bench/train.ts, bench/detection.ts and bench/segmentation.ts.

bench/peers.ts starts one of these per PyTorch configuration (tuned 1.13, default 1.13,
tuned 2.x) and drives them one at a time, alternating with neocog, so that no two of them
ever measure at once. `python3 bench/torch_peer.py ops|train|detection|segmentation THREADS`; one JSON object a
line each way:

  in  {"cases": [...], "formats": ["nchw", "channels_last"]}   once, first
  out {"torch": "1.13.0", "threads": 2, "capability": "AVX2"}
  in  probe       out {"ms": x, "faults": n}   a fixed allocator/kernel workload, to pick a tuning
  in  prepare I   out {"formats": [...], "params": n}   build case I, warm up each format
                  (+ "check": {...} when the workload fingerprints its output, bench/output_check.ts)
  in  run I       out {"ms": {"nchw": x, "channels_last": y}}   median of the case's repeats
  in  release I   out {}
  in  quit

A case that this PyTorch cannot run (torchvision missing) answers {"error": "..."}.
"""
import importlib
import json
import os
import re
import resource
import sys
import time

import torch


def warm_up(fn, case):
    """bench/alternate.ts warmUp: the case's `warmup` calls, then (for model cases with
    warmup > 0) more until NEOCOG_BENCH_WARMUP_MS (default 2000) ms have passed, as every
    contender does. Op cases (no `warmup`) take one call, as neocog's do."""
    steps = case.get("warmup", 1)
    floor_ms = float(os.environ.get("NEOCOG_BENCH_WARMUP_MS", "2000")) if case.get("warmup", 0) > 0 else 0.0
    start = time.perf_counter()
    k = 0
    while k < steps or (time.perf_counter() - start) * 1000 < floor_ms:
        fn()
        k += 1


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def capability():
    """The ATen CPU kernel set in use (AVX2 / AVX512), as torch.__config__.show() prints it."""
    found = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return found.group(1) if found else "unknown"


def probe():
    """Fresh large tensors (the allocator's cost) and the conv/pool kernels, in both formats.

    Returns the summed medians (ms) and the page faults taken meanwhile: an allocator that
    keeps its pages takes almost none, which explains its time even on a busy machine."""
    torch.manual_seed(0)
    big = torch.randn(16, 64, 112, 112)
    x = torch.randn(8, 64, 56, 56)
    w = torch.randn(64, 64, 3, 3)
    xc, wc = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
    F = torch.nn.functional
    total = 0.0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with torch.no_grad():
        for fn in (lambda: big + big, lambda: F.conv2d(x, w, padding=1), lambda: F.conv2d(xc, wc, padding=1),
                   lambda: F.max_pool2d(big, 3, stride=2, padding=1)):
            fn()
            total += median_ms(fn, 3)
    return total, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def main():
    workloads = importlib.import_module({"ops": "torch_ops", "train": "train_torch", "detection": "detection_torch",
                                         "segmentation": "segmentation_torch", "inference": "inference_torch"}[sys.argv[1]])
    torch.set_num_threads(int(sys.argv[2]))  # Debian's build defaults to 1 thread here
    config = json.loads(sys.stdin.readline())
    cases, formats = config["cases"], config["formats"]
    reply({"torch": torch.__version__, "threads": torch.get_num_threads(), "capability": capability()})
    prepared = {}
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        try:
            if words[0] == "probe":
                ms, faults = probe()
                reply({"ms": ms, "faults": faults})
                continue
            i = int(words[1])
            case = cases[i]
            if words[0] == "prepare":
                torch.manual_seed(0)
                case_formats = formats if case.get("memoryFormats") else ["nchw"]
                prepared[i] = {f: workloads.make(case, f == "channels_last") for f in case_formats}
                for work in prepared[i].values():
                    warm_up(work.step, case)
                first = next(iter(prepared[i].values()))
                check = getattr(first, "check", None)  # segmentation_torch and inference_torch workloads have one
                reply({"formats": case_formats, "params": first.params, **({} if check is None else {"check": check})})
            elif words[0] == "run":
                reply({"ms": {f: median_ms(work.step, case["repeats"]) for f, work in prepared[i].items()}})
            elif words[0] == "release":
                prepared.pop(i, None)
                reply({})
            else:
                reply({"error": f"torch_peer: unknown command {words[0]!r}"})
        except Exception as error:  # reported to the driver, which marks the case n/a for this peer
            prepared.pop(int(words[1]) if len(words) > 1 else -1, None)
            reply({"error": f"{type(error).__name__}: {error}"})


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
