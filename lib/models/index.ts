/**
 * The model zoo.
 * @module
 */
export { fashionMnistCnn, lenet5, simpleCnn, type ClassifierOptions } from './classifiers.js';
