/**
 * The table of ops, one line each, sorted (the binding's list is native/src/binding/ops.cc).
 * @module
 */
export { copyTo } from './copy.js';
export { add, div, maximum, minimum, mul, sub } from './elementwise.js';
export { indexSelect } from './indexing.js';
export { matmul } from './matmul.js';
