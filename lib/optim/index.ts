/**
 * torch.optim for neocog.
 * @module
 */
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { Optimizer, type ParamGroup, type ParamsArgument } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
