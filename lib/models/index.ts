/**
 * The model zoo, as torchvision.models: classification models in torchvision's layouts
 * and names (classification/: ResNet, ResNeXt, Wide ResNet, VGG, AlexNet, SqueezeNet,
 * DenseNet, MobileNet), the course's own nets, marked as such (classification/course/),
 * detection building blocks as `models.detection`, and the U-Net family as `models.segmentation`.
 * @module
 */
export * as detection from './detection/index.js';
export * as segmentation from './segmentation/index.js';
export { fashionMnistCnn, lenet5, simpleCnn } from './classification/course/cnns.js';
export { ResidualUnit, resnet34Cifar, type ResNet34CifarOptions } from './classification/course/resnet34_cifar.js';
export { CNBlock, ConvNeXt, convnextTiny, type CNBlockConfig, type ConvNeXtOptions } from './classification/convnext.js';
export { EfficientNet, efficientnetB0, MBConv, type EfficientNetOptions, type MBConvConfig } from './classification/efficientnet.js';
export { GoogLeNet, googlenet, GoogLeNetAux, Inception, type GoogLeNetOutputs } from './classification/googlenet.js';
export {
  BasicConv2d,
  Inception3,
  InceptionA,
  InceptionAux,
  InceptionB,
  InceptionC,
  InceptionD,
  InceptionE,
  inceptionV3,
  type InceptionOptions,
  type InceptionOutputs,
} from './classification/inception.js';
export { InvertedResidual, mobilenetV2, MobileNetV2, type MobileNetV2Options } from './classification/mobilenet.js';
export {
  InvertedResidualV3,
  makeDivisible,
  mobilenetV3Large,
  mobilenetV3Small,
  MobileNetV3,
  type InvertedResidualConfig,
  type MobileNetV3Options,
} from './classification/mobilenet_v3.js';
export { type ClassifierOptions, type NormLayerFactory } from './classification/options.js';
export { AlexNet, alexnet, type AlexNetOptions } from './classification/alexnet.js';
export { DenseBlock, DenseLayer, densenet121, DenseNet, DenseTransition, type DenseNetOptions } from './classification/densenet.js';
export {
  BasicBlock,
  Bottleneck,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50x32x4d,
  ResNet,
  wideResnet50x2,
  type ResNetOptions,
} from './classification/resnet.js';
export { Fire, squeezenet1x0, squeezenet1x1, SqueezeNet, type SqueezeNetOptions, type SqueezeNetVersion } from './classification/squeezenet.js';
export {
  vgg11,
  vgg11Bn,
  vgg13,
  vgg13Bn,
  vgg16,
  vgg16Bn,
  vgg19,
  vgg19Bn,
  VGG,
  VGG_CONFIGS,
  vggFeatures,
  type VGGFeaturesOptions,
  type VGGOptions,
} from './classification/vgg.js';
export {
  RegNet,
  regnetBlockParams,
  regnetY400mf,
  ResBottleneckBlock,
  type RegNetBlockParams,
  type RegNetInitParams,
  type RegNetOptions,
} from './classification/regnet.js';
export { Xception, xception, XceptionBlock, type XceptionBlockOptions, type XceptionOptions } from './classification/xception.js';
// Generic layers that lived here before lib/nn/layers took them; their home is `nn`, these
// names stay so that code written as models.SEBlock keeps working.
export { ReLU6 } from '../nn/layers/basic.js';
export { SEBlock, SeparableConv2d } from '../nn/layers/blocks.js';
