/**
 * Files: safetensors checkpoints.
 * @module
 */
export { loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors, type SafetensorsContent } from './safetensors.js';
