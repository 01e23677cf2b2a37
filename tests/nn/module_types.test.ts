// Module<In, Out>: forward/call typed by the argument tuple and the result, hooks typed to
// match. The expectTypeOf and @ts-expect-error lines are checked by `tsc -p tsconfig.json`
// (tests are part of the project; lines that must not compile are wrapped in functions that
// never run); the same modules then run, so the types describe what actually arrives.
import { describe, expect, expectTypeOf, it } from 'vitest';

import { ArgumentError, nn, randn, tensor, type Tensor } from '../../lib/index.js';

/** A module returning a tuple. */
class TwoHeads extends nn.Module<[Tensor], [Tensor, Tensor]> {
  forward(x: Tensor): [Tensor, Tensor] {
    return [x.mul(2), x.add(1)];
  }
}

interface Losses {
  classifier: Tensor;
  boxReg: Tensor;
}

/** A module taking two inputs (one optional) and returning a record of losses. */
class LossModule extends nn.Module<[scores: Tensor, targets?: Tensor], Losses> {
  forward(scores: Tensor, targets?: Tensor): Losses {
    const t = targets ?? scores;
    return { classifier: scores.sub(t).abs().sum(), boxReg: scores.mul(0).sum() };
  }
}

interface Detection {
  boxes: Tensor;
  scores: Tensor;
}

/** A module taking a list of images and returning a list of detections. */
class Detector extends nn.Module<[images: Tensor[]], Detection[]> {
  forward(images: Tensor[]): Detection[] {
    return images.map((image) => ({ boxes: image.reshape([-1, 4]), scores: image.sum() }));
  }
}

/** What existing code writes: a plain Module with forward(x: Tensor): Tensor. */
class Plain extends nn.Module {
  fc = new nn.Linear(4, 2);
  forward(x: Tensor): Tensor {
    return this.fc.call(x);
  }
}

describe('types (checked by tsc)', () => {
  it('call takes forward\'s arguments and returns its result without casts', () => {
    const x = randn([2, 4]);
    expectTypeOf(new TwoHeads().call(x)).toEqualTypeOf<[Tensor, Tensor]>();
    expectTypeOf(new LossModule().call(x)).toEqualTypeOf<Losses>();
    expectTypeOf(new LossModule().call(x, x)).toEqualTypeOf<Losses>();
    expectTypeOf(new Detector().call([x])).toEqualTypeOf<Detection[]>();
    expectTypeOf(new Plain().call(x)).toEqualTypeOf<Tensor>();
    expectTypeOf<Plain>().toMatchTypeOf<nn.Module<[Tensor], Tensor>>();
    expectTypeOf(new nn.MaxUnpool2d(2).call).parameters.toEqualTypeOf<[x: Tensor, indices: Tensor]>();

    // @ts-expect-error one-tensor modules take one tensor
    void (() => new Plain().call(x, x));
    // @ts-expect-error the detector takes a list of images
    void (() => new Detector().call(x));
    // @ts-expect-error a record is not a tensor
    void ((): Tensor => new LossModule().call(x));
  });

  it('a forward must match the declared In/Out', () => {
    class WrongOut extends nn.Module {
      // @ts-expect-error a plain Module's forward returns a Tensor, not a tuple
      forward(x: Tensor): [Tensor, Tensor] {
        return [x, x];
      }
    }
    void WrongOut;
  });

  it('hooks receive the module, typed inputs and typed output', () => {
    const losses = new LossModule();
    losses.registerForwardHook((module, inputs, output) => {
      expectTypeOf(module).toEqualTypeOf<LossModule>();
      expectTypeOf(inputs).toEqualTypeOf<[scores: Tensor, targets?: Tensor]>();
      expectTypeOf(output).toEqualTypeOf<Losses>();
    });
    new TwoHeads().registerForwardHook((_module, inputs, output) => {
      expectTypeOf(inputs).toEqualTypeOf<[Tensor]>();
      expectTypeOf(output).toEqualTypeOf<[Tensor, Tensor]>();
    });
    new nn.Linear(2, 2).registerForwardHook((module, _inputs, output) => {
      expectTypeOf(module.weight).toEqualTypeOf<Tensor<'float32'>>();
      expectTypeOf(output).toEqualTypeOf<Tensor>();
    });
    new Detector().registerForwardPreHook((_module, inputs) => {
      expectTypeOf(inputs).toEqualTypeOf<[images: Tensor[]]>();
    });
    // @ts-expect-error a pre-hook returns replacement inputs or nothing, not a number
    new Plain().registerForwardPreHook((_module, inputs) => inputs.length);
  });

  it('containers are typed by what they hold', () => {
    const heads = new nn.ModuleList([new TwoHeads(), new TwoHeads()]);
    expectTypeOf(heads.at(0)).toEqualTypeOf<TwoHeads>();
    for (const head of heads) expectTypeOf(head).toEqualTypeOf<TwoHeads>();
    const convs = new nn.ModuleDict({ a: new nn.Conv2d(1, 1, 1) });
    expectTypeOf(convs.get('a')).toEqualTypeOf<nn.Conv2d | undefined>();
    expectTypeOf<ReturnType<nn.ModuleList['at']>>().toEqualTypeOf<nn.Module>();
    expectTypeOf(new nn.Sequential(new nn.Linear(4, 4)).at(0)).toEqualTypeOf<nn.Module>();
    // @ts-expect-error Sequential chains one-tensor modules
    void (() => new nn.Sequential(new TwoHeads()));
    // @ts-expect-error ... and a two-input module cannot be a link either
    void (() => new nn.Sequential(new nn.MaxUnpool2d(2)));

    // A container of any module: children() yields AnyModule, whose result must be narrowed.
    for (const child of new Plain().children()) {
      expectTypeOf(child).toEqualTypeOf<nn.AnyModule>();
      // @ts-expect-error AnyModule.call returns unknown
      void ((): Tensor => child.call(randn([1, 4])));
    }
    expectTypeOf<Detector>().toMatchTypeOf<nn.AnyModule>();
    expectTypeOf<nn.ModuleList<TwoHeads>>().toMatchTypeOf<nn.AnyModule>();
  });
});

describe('runtime', () => {
  it('tuple, record and list outputs come back from call as forward returned them', () => {
    const x = tensor([1, 2, 3, 4], { dtype: 'float32' });
    const [doubled, shifted] = new TwoHeads().call(x);
    expect(Array.from(doubled.dataSync())).toEqual([2, 4, 6, 8]);
    expect(Array.from(shifted.dataSync())).toEqual([2, 3, 4, 5]);
    const { classifier, boxReg } = new LossModule().call(x, x.mul(0));
    expect(classifier.item()).toBe(10);
    expect(boxReg.item()).toBe(0);
    const detections = new Detector().call([x, x.mul(3)]);
    expect(detections.map((d) => d.scores.item())).toEqual([10, 30]);
    expect(detections[0]!.boxes.shape).toEqual([1, 4]);
  });

  it('forward hooks see the inputs and output of each call; pre-hooks can replace the inputs', () => {
    const losses = new LossModule();
    const seen: Array<{ module: LossModule; arity: number; classifier: number }> = [];
    const removeHook = losses.registerForwardHook((module, inputs, output) => {
      seen.push({ module, arity: inputs.length, classifier: output.classifier.item() });
    });
    const x = tensor([1, -2], { dtype: 'float32' });
    losses.call(x);
    losses.call(x, x.mul(0));
    expect(seen.map((s) => [s.arity, s.classifier])).toEqual([[1, 0], [2, 3]]);
    expect(seen[0]!.module).toBe(losses);

    // A pre-hook that supplies the missing targets: forward and the forward hook see them.
    const removePre = losses.registerForwardPreHook((_module, inputs) => (inputs.length === 1 ? [inputs[0], tensor([0, 0], { dtype: 'float32' })] : undefined));
    expect(losses.call(x).classifier.item()).toBe(3);
    expect(seen.at(-1)).toMatchObject({ arity: 2, classifier: 3 });
    // A pre-hook that returns nothing keeps the inputs.
    const observed: number[] = [];
    const removeObserver = losses.registerForwardPreHook((_module, inputs) => {
      observed.push(inputs.length);
    });
    losses.call(x, x);
    expect(observed).toEqual([2]);

    removePre();
    removeObserver();
    removeHook();
    expect(losses.call(x).classifier.item()).toBe(0);
    expect(seen).toHaveLength(4);
    expect(observed).toEqual([2]);
  });

  it('ModuleList and ModuleDict refuse to be called', () => {
    expect(() => (new nn.ModuleList([new Plain()]) as unknown as nn.Module).call(randn([1, 4]))).toThrow(ArgumentError);
    expect(() => (new nn.ModuleDict({}) as unknown as nn.Module).call(randn([1, 4]))).toThrow(/ModuleDict has no forward/);
    expect(new nn.ModuleDict({ b: new Plain(), a: new Plain() }).keys()).toEqual(['b', 'a']);
  });
});
