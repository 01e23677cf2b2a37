// The rows of bench/inference.ts (issue 15, "Speed"): batch inference of torchvision
// classifiers, neocog's InferenceSession against PyTorch (eval, no_grad) and onnxruntime-node
// on the same weights and inputs. The same objects go to the peers: bench/inference_torch.py
// builds PyTorch's side (and exports the ONNX file onnxruntime runs), bench/ort_peer.ts
// onnxruntime's.

/** One batch through a torchvision classifier in eval mode. */
export interface InferenceCase {
  /** Row label and command-line name. */
  name: string;
  /** The zoo model, by torchvision's name. */
  model: 'resnet18' | 'mobilenet_v2';
  batch: number;
  size: number;
  /** Timed batches per round, and untimed ones before the first round. */
  repeats: number;
  warmup: number;
  /** PyTorch times channels_last and NCHW and reports the faster. */
  memoryFormats: true;
  /** The target for onnxruntime-node ms / neocog ms. */
  target: number;
  /**
   * Where neocog writes the weights (PyTorch's state-dict names) and `__input__` before the
   * peers build the row, and where the PyTorch 1.13 peer (which has torchvision) exports the
   * model to ONNX for onnxruntime; relative to the repository root.
   */
  sharedFile: string;
  onnxFile: string;
}

const row = (name: string, model: InferenceCase['model'], batch: number, repeats: number): InferenceCase => ({
  name,
  model,
  batch,
  size: 224,
  repeats,
  warmup: 2,
  memoryFormats: true,
  target: 1.2,
  sharedFile: `bench/.build/inference/${name}.safetensors`,
  onnxFile: `bench/.build/inference/${name}.onnx`,
});

// The rows: resnet18 at batch 16 and mobilenetV2 at batch 32, 3 x 224 x 224.
export const inferenceCases: InferenceCase[] = [row('resnet18', 'resnet18', 16, 5), row('mobilenetV2', 'mobilenet_v2', 32, 5)];

/** The command-line name that selects every row of the inference bench. */
export const inferenceGroup = 'inference';

/** A row's label in the table: the model and its batch. */
export function inferenceLabel(c: InferenceCase): string {
  return `${c.name} eval ${c.batch}x3x${c.size}x${c.size}`;
}
