/**
 * The model zoo.
 * @module
 */
export { fashionMnistCnn, lenet5, simpleCnn, type ClassifierOptions } from './classifiers.js';
export { BasicBlock, Bottleneck, resnet18, resnet34, resnet50, ResNet } from './resnet.js';
export { vgg11, vgg16, VGG } from './vgg.js';
