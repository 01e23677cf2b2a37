/**
 * Detection machinery that is not an op, as torchvision.models.detection's: the anchor
 * generator, the box coder, the matchers, the positive/negative sampler, the FPN RoI pooler
 * and the position-sensitive RoI Align module, with torchvision's names (camelCase) and
 * semantics. One line each, sorted.
 * @module
 */
export { AnchorGenerator, type GridPair, type PerLevel } from './anchor_generator.js';
export { BalancedPositiveNegativeSampler, type SampledMasks } from './balanced_sampler.js';
export { BoxCoder, BoxLinearCoder, type BoxCoderOptions, type BoxCoderWeights, type BoxLinearCoderOptions } from './box_coder.js';
export { ImageList, type ImageSize } from './image_list.js';
export { Matcher, SSDMatcher, type MatcherOptions } from './matcher.js';
export { MultiScaleRoIAlign, type MultiScaleRoIAlignOptions } from './poolers.js';
export { PSRoIAlign } from './ps_roi_align.js';
