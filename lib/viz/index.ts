/**
 * Visualisation: PNG line charts.
 * @module
 */
export { encodePng, plotLines, type Series } from './plot.js';
