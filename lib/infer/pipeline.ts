/**
 * A model behind its pre- and postprocessing: input → prepared tensor → batched forward
 * (the session's dynamic batching) → result, as a user calls a served model. Each request
 * keeps its own context (the image's original size) from the first stage to the last.
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PreparedImage } from './preprocess.js';
import { disposeOutput, type RunOptions } from './session.js';

/** What a pipeline runs its stages around: an InferenceSession (`submit` gives one sample's result). */
export interface Submitter<Out> {
  submit(sample: Tensor, opts?: RunOptions): Promise<Out>;
}

/** The stages around the session's forward. */
export interface PipelineStages<In, R, Out, P extends { tensor: Tensor } = PreparedImage> {
  /** Input to the model's input sample (no batch dimension), with context for `postprocess`. */
  preprocess: (input: In) => P | Promise<P>;
  /** The sample's output (its row of the batch) and its context, to the result. */
  postprocess: (output: Out, prepared: P) => R | Promise<R>;
}

/**
 * Runs inputs through `preprocess`, the session (batched with concurrent requests by
 * `submit`) and `postprocess`, freeing the tensors in between: a result that is not a tensor
 * leaves nothing to dispose.
 *
 * @example
 * const session = await InferenceSession.create(models.resnet18(), { example: zeros([1, 3, 224, 224]) });
 * const classifier = new Pipeline(session, { preprocess: imageClassificationPreset(), postprocess: classificationPostprocess({ labels }) });
 * const top5 = await classifier.predict(await readFile('cat.jpg'));
 */
export class Pipeline<In, R, Out = Tensor, P extends { tensor: Tensor } = PreparedImage> {
  readonly #session: Submitter<Out>;
  readonly #stages: PipelineStages<In, R, Out, P>;

  constructor(session: Submitter<Out>, stages: PipelineStages<In, R, Out, P>) {
    if (typeof stages?.preprocess !== 'function' || typeof stages.postprocess !== 'function') {
      throw new ArgumentError('Pipeline: stages must have preprocess and postprocess functions');
    }
    this.#session = session;
    this.#stages = stages;
  }

  /** The result for one input; rejects with the first stage's error (a bad image: FormatError), or the session's (BusyError). */
  async predict(input: In, opts: RunOptions = {}): Promise<R> {
    const prepared = await this.#stages.preprocess(input);
    try {
      const output = await this.#session.submit(prepared.tensor, opts);
      try {
        return await this.#stages.postprocess(output, prepared);
      } finally {
        disposeOutput(output);
      }
    } finally {
      prepared.tensor.dispose();
    }
  }
}
