#!/usr/bin/python3
"""PyTorch side of bench/train.ts: the same models and training step, images/s per case."""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torchvision


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def simple_cnn(in_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(7), nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def build(name):
    if name == "lenet5":
        return lenet5()
    if name == "simpleCnn":
        return simple_cnn(3)
    return torchvision.models.resnet18(num_classes=10)


def images_per_second(case):
    torch.manual_seed(0)
    model = build(case["model"]).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(case["batch"], *case["shape"])
    y = torch.randint(0, 10, (case["batch"],))
    times = []
    for i in range(case["steps"] + 2):
        start = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if i >= 2:  # warm-up
            times.append(time.perf_counter() - start)
    times.sort()
    return case["batch"] / times[len(times) // 2]


torch.set_num_threads(os.cpu_count())
cases = json.load(sys.stdin)
print(json.dumps({"torch": torch.__version__, "imagesPerSecond": [images_per_second(c) for c in cases]}))
