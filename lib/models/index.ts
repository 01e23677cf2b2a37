/**
 * The model zoo.
 * @module
 */
export { fashionMnistCnn, lenet5, simpleCnn, type ClassifierOptions } from './classifiers.js';
export { BasicBlock, Bottleneck, resnet18, resnet34, resnet50, ResNet } from './resnet.js';
export { ResidualUnit, resnet34Cifar, type ResNet34CifarOptions } from './resnet_cifar.js';
export { vgg11, vgg16, VGG } from './vgg.js';
export { InvertedResidual, mobilenetV2, MobileNetV2, ReLU6, SEBlock, SeparableConv2d } from './mobilenet.js';
