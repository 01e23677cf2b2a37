/**
 * torch.optim for neocog.
 * @module
 */
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export { ExponentialMovingAverage, type EMAOptions } from './ema.js';
export { CosineAnnealingLR, LinearWarmup, LRScheduler, MultiStepLR, OneCycleLR, ReduceLROnPlateau, StepLR } from './lr_scheduler.js';
export { Optimizer, type ParamGroup, type ParamsArgument } from './optimizer.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { SGD, type SGDOptions } from './sgd.js';
