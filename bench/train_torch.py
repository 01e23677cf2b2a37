#!/usr/bin/python3
"""The PyTorch side of bench/train.ts: the same models, inputs and steps.

bench/torch_peer.py builds a workload with make(case, channels_last) and times its step:
for a 'train' case zero_grad, forward, cross entropy, backward, SGD with momentum; for an
'eval' case one forward pass of the model in eval mode under torch.inference_mode(). The
models are written out here (and torchvision's resnet50 and efficientnet_b0 in
zoo_torch.py) rather than taken from torchvision because torchvision does not load next to
the PyTorch 2.x wheel; they mirror lib/models and bench/models.ts layer for layer, and the
parameter counts are printed beside neocog's to show it.
"""
from collections import namedtuple

import torch
import torch.nn as nn

import zoo_torch

Workload = namedtuple("Workload", ["step", "params"])


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def simple_cnn(in_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(7), nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock."""

    def __init__(self, in_c, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_c != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_c, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet18Cifar(nn.Module):
    """torchvision's resnet18 with the CIFAR stem: a 3x3 stride-1 conv1 and no max-pool."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, in_c = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(BasicBlock(in_c, planes, stride), BasicBlock(planes, planes, 1)))
            in_c = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


def double_conv(in_c, out_c):
    return nn.Sequential(
        nn.Conv2d(in_c, out_c, 3, padding=1, bias=False), nn.BatchNorm2d(out_c), nn.ReLU(),
        nn.Conv2d(out_c, out_c, 3, padding=1, bias=False), nn.BatchNorm2d(out_c), nn.ReLU())


class UNet(nn.Module):
    """neocog's models.segmentation.unet({ inChannels: 1, numClasses: 2, depth: 3,
    baseChannels: 16 }) with its module names: 4 levels (16-32-64-128 channels), max-pool
    down, 2x2 stride-2 transposed conv up, skip concatenation, 1x1 head."""

    def __init__(self, in_channels=1, num_classes=2, base=16, depth=3):
        super().__init__()
        widths = [base * 2**i for i in range(depth + 1)]
        self.depth = depth
        self.encoder = nn.ModuleList([double_conv(in_channels if i == 0 else widths[i - 1], w) for i, w in enumerate(widths)])
        self.upsample = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], w, 2, stride=2) for i, w in enumerate(widths[:-1])])
        self.decoder = nn.ModuleList([double_conv(2 * w, w) for w in widths[:-1]])
        self.head = nn.Conv2d(base, num_classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for level in reversed(range(self.depth)):
            x = self.decoder[level](torch.cat([skips[level], self.upsample[level](x)], 1))
        return self.head(x)


def build(name):
    if name == "lenet5":
        return lenet5()
    if name == "simpleCnn":
        return simple_cnn(3)
    if name == "resnet18Cifar":
        return ResNet18Cifar(10)
    if name == "unet":
        return UNet()
    if name == "resnet50":
        return zoo_torch.ResNet50(1000)
    if name == "efficientnetB0":
        return zoo_torch.EfficientNetB0(1000)
    raise ValueError(f"train_torch: unknown model {name!r}")


def make(case, channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build(case["model"]).to(memory_format=fmt)
    params = sum(p.numel() for p in model.parameters())
    batch, (c, h, w) = case["batch"], case["shape"]
    x = torch.randn(batch, c, h, w).contiguous(memory_format=fmt)
    if case["mode"] == "eval":
        model.eval()

        def forward():
            with torch.inference_mode():
                model(x)

        return Workload(forward, params)

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    # Classification: one label per image; segmentation (the U-Net): one label per pixel.
    y = torch.randint(0, 2, (batch, h, w)) if case["model"] == "unet" else torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return Workload(step, params)
