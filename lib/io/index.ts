/**
 * Files: safetensors weights, training checkpoints and PyTorch's `torch.save` files (read
 * only, without Python). Each reader and writer is async (the event loop keeps turning
 * while the file is read or written) and has a blocking `...Sync` form, as Node's fs does.
 * @module
 */
export { loadCheckpoint, loadCheckpointSync, saveCheckpoint, saveCheckpointSync, type CheckpointParts, type CheckpointTarget } from './checkpoint.js';
export {
  loadSafetensors,
  loadSafetensorsSync,
  parseSafetensors,
  saveSafetensors,
  saveSafetensorsSync,
  serializeSafetensors,
  type SafetensorsContent,
} from './safetensors.js';
export {
  packSharedStateDict,
  packSharedStateDictSync,
  SHARED_ALIGNMENT,
  unpackSharedStateDict, type SharedStateDict, type SharedTensorEntry } from './shared_state_dict.js';
export { loadStateDict, loadStateDictSync } from './state_dict.js';
export { loadTorch, loadTorchSync, parseTorch, type LoadTorchOptions } from './torch.js';
