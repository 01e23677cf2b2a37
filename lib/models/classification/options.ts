/**
 * The options every classification model constructor takes.
 * @module
 */

/** Options shared by the model constructors. */
export interface ClassifierOptions {
  /** Number of output classes (default 10 for the course's nets, 1000 for the torchvision ones). */
  numClasses?: number;
  /** Channels of the input images (default 1 for the MNIST models, 3 otherwise). */
  inChannels?: number;
}
