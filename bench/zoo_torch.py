"""torchvision 0.14's resnet50 and efficientnet_b0, written out without torchvision.

The training bench (bench/train_torch.py) runs these on every PyTorch peer, the 2.x one
included, whose venv has no torchvision that loads. Module names, parameter shapes,
forward pass (in-place ops included) and initialisation follow torchvision 0.14 line for
line; tests/fixtures/make_bench_fixtures.py checks them against torchvision where it is
installed (same state-dict keys and shapes, same eval output on torchvision's weights).
"""
import math

import torch
import torch.nn as nn


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (ResNet v1.5: the stride on the 3x3 conv)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet50(nn.Module):
    """torchvision.models.resnet50(): 25,557,032 parameters with 1000 classes."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, 2)
        self.layer3 = self._make_layer(256, 6, 2)
        self.layer4 = self._make_layer(512, 3, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * Bottleneck.expansion))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Conv2dNormActivation(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation with BatchNorm2d: conv (no bias), norm, activation (in place)."""

    def __init__(self, in_c, out_c, kernel, stride=1, groups=1, activation=True):
        layers = [nn.Conv2d(in_c, out_c, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out_c)]
        if activation:
            layers.append(nn.SiLU(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation with SiLU: x * sigmoid(fc2(silu(fc1(avgpool(x)))))."""

    def __init__(self, in_c, squeeze_c):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(in_c, squeeze_c, 1)
        self.fc2 = nn.Conv2d(squeeze_c, in_c, 1)
        self.activation = nn.SiLU(inplace=True)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def stochastic_depth(x, p, training):
    """torchvision.ops.stochastic_depth in "row" mode: drops each sample's branch with probability p."""
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device).bernoulli_(survival)
    if survival > 0.0:
        noise.div_(survival)
    return x * noise


class MBConv(nn.Module):
    """torchvision.models.efficientnet.MBConv: 1x1 expansion, kxk depthwise, squeeze-and-excitation, 1x1 projection."""

    def __init__(self, expand_ratio, kernel, stride, in_c, out_c, sd_prob):
        super().__init__()
        self.use_res_connect = stride == 1 and in_c == out_c
        expanded = in_c * expand_ratio  # _make_divisible(., 8) leaves B0's widths as they are
        layers = []
        if expanded != in_c:
            layers.append(Conv2dNormActivation(in_c, expanded, 1))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel, stride, groups=expanded))
        layers.append(SqueezeExcitation(expanded, max(1, in_c // 4)))
        layers.append(Conv2dNormActivation(expanded, out_c, 1, activation=False))
        self.block = nn.Sequential(*layers)
        self.sd_prob = sd_prob
        self.out_channels = out_c

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = stochastic_depth(result, self.sd_prob, self.training)
            result += x
        return result


# torchvision 0.14's _efficientnet_conf("efficientnet_b0"): expand ratio, kernel, stride,
# input and output channels, layers.
B0_STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))


class EfficientNetB0(nn.Module):
    """torchvision.models.efficientnet_b0(): 5,288,548 parameters with 1000 classes (dropout 0.2,
    stochastic depth up to 0.2)."""

    def __init__(self, num_classes=1000, dropout=0.2, stochastic_depth_prob=0.2):
        super().__init__()
        layers = [Conv2dNormActivation(3, B0_STAGES[0][3], 3, 2)]
        total = sum(stage[5] for stage in B0_STAGES)
        block_id = 0
        for expand, kernel, stride, in_c, out_c, num_layers in B0_STAGES:
            stage = []
            for i in range(num_layers):
                stage.append(MBConv(expand, kernel, stride if i == 0 else 1, in_c if i == 0 else out_c, out_c,
                                    stochastic_depth_prob * float(block_id) / total))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last = 4 * B0_STAGES[-1][4]
        layers.append(Conv2dNormActivation(B0_STAGES[-1][4], last, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
