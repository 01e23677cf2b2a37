"""The PyTorch side of bench/distributed.ts: the same all-reduce and the same resnet18 CIFAR
training step as bench/distributed_rank.ts, with PyTorch's DistributedDataParallel over its
gloo backend (the CPU backend the pip wheel ships; it has no MPI). Started once per rank with
torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); rank 0 prints one JSON
line. `channels_last` as the last argument trains in that memory format.
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from train_torch import build  # noqa: E402

mode, first = sys.argv[1], sys.argv[2]
world = int(os.environ.get("WORLD_SIZE", "1"))
if world > 1:
    dist.init_process_group("gloo")
rank = dist.get_rank() if world > 1 else 0
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))))


def median(xs):
    return sorted(xs)[len(xs) // 2]


if mode == "allreduce":
    t = torch.zeros(int(float(first) * 1048576 / 4))
    times = []
    for i in range(int(sys.argv[3]) + 1):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(t)
        if i > 0:
            times.append(time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"world": world, "bytes": t.numel() * 4, "seconds": median(times)}))
else:
    fmt = torch.channels_last if sys.argv[-1] == "channels_last" else torch.contiguous_format
    torch.manual_seed(rank)
    model = build("resnet18Cifar").train().to(memory_format=fmt)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(64, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (64,))
    times = []
    for i in range(int(first) + 1):
        start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if world > 1:
            dist.barrier()
        if i > 0:
            times.append(time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"world": world, "seconds": median(times), "imagesPerSecond": 64 * world / median(times)}))
if world > 1:
    dist.destroy_process_group()
