/**
 * Files: safetensors checkpoints.
 * @module
 */
export { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export { loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors, type SafetensorsContent } from './safetensors.js';
