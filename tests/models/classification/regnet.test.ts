// RegNetY-400MF's layout against torchvision 0.14 (counts, names and BlockParams printed
// there); its outputs against torchvision's are in zoo_b_interop.test.ts.
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

it("regnetBlockParams is torchvision's BlockParams.from_init_params", () => {
  // torchvision 0.14: BlockParams.from_init_params(...) .depths, .widths, .group_widths.
  const cases: Array<[models.RegNetInitParams, number[], number[], number[]]> = [
    [{ depth: 16, w0: 48, wa: 27.89, wm: 2.09, groupWidth: 8, seRatio: 0.25 }, [1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8]], // y_400mf
    [{ depth: 14, w0: 56, wa: 38.84, wm: 2.4, groupWidth: 16 }, [1, 3, 8, 2], [64, 144, 320, 784], [16, 16, 16, 16]], // y_800mf
    [{ depth: 22, w0: 24, wa: 24.48, wm: 2.54, groupWidth: 16 }, [1, 2, 7, 12], [32, 64, 160, 400], [16, 16, 16, 16]], // x_400mf
    [{ depth: 27, w0: 48, wa: 20.71, wm: 2.65, groupWidth: 24 }, [2, 6, 17, 2], [48, 120, 336, 888], [24, 24, 24, 24]], // y_1_6gf
    [{ depth: 21, w0: 80, wa: 42.63, wm: 2.66, groupWidth: 24 }, [2, 5, 13, 1], [72, 216, 576, 1512], [24, 24, 24, 24]], // y_3_2gf
    [{ depth: 20, w0: 232, wa: 115.89, wm: 2.53, groupWidth: 232 }, [2, 5, 12, 1], [232, 696, 1392, 3712], [232, 232, 232, 232]], // y_32gf
    [{ depth: 23, w0: 80, wa: 49.56, wm: 2.88, groupWidth: 120 }, [2, 5, 15, 1], [80, 240, 720, 1920], [80, 120, 120, 120]], // x_8gf: groups capped by width
  ];
  for (const [init, depths, widths, groupWidths] of cases) {
    const p = models.regnetBlockParams(init);
    expect({ depths: p.depths, widths: p.widths, groupWidths: p.groupWidths }).toEqual({ depths, widths, groupWidths });
    expect(p.strides).toEqual([2, 2, 2, 2]);
  }
  expect(() => models.regnetBlockParams({ depth: 16, w0: 50, wa: 27.89, wm: 2.09, groupWidth: 8 })).toThrow(/regnetBlockParams: expected wa >= 0, w0 > 0 a multiple of 8 and wm > 1/);
  expect(() => models.regnetBlockParams({ depth: 16, w0: 48, wa: 27.89, wm: 1, groupWidth: 8 })).toThrow(ArgumentError);
});

it('regnetY400mf matches torchvision: parameter count, state-dict names, SE widths', () => {
  manualSeed(1);
  const net = models.regnetY400mf();
  // torchvision 0.14: sum(p.numel() for p in regnet_y_400mf().parameters()), len(state_dict()).
  expect(net.parameterCount()).toBe(4344144);
  expect(net.stateDict().size).toBe(384);
  const shapes = new Map([...net.stateDict()].map(([name, t]) => [name, t.shape]));
  expect(shapes.get('stem.0.weight')).toEqual([32, 3, 3, 3]);
  expect(shapes.get('trunk_output.block1.block1-0.proj.0.weight')).toEqual([48, 32, 1, 1]);
  expect(shapes.get('trunk_output.block2.block2-0.f.b.0.weight')).toEqual([104, 8, 3, 3]); // groups 104 / 8 = 13
  // SE to round(0.25 * width_in): 0.25 * 48 = 12 in block2-0, 0.25 * 104 = 26 after.
  expect(shapes.get('trunk_output.block2.block2-0.f.se.fc1.weight')).toEqual([12, 104, 1, 1]);
  expect(shapes.get('trunk_output.block2.block2-1.f.se.fc1.weight')).toEqual([26, 104, 1, 1]);
  expect(shapes.get('trunk_output.block4.block4-5.f.c.1.running_var')).toEqual([440]);
  expect(shapes.has('trunk_output.block4.block4-5.proj.0.weight')).toBe(false); // same shape: identity shortcut
  expect(shapes.get('fc.weight')).toEqual([1000, 440]);
  expect([...net.trunkOutput.namedChildren()].map(([name]) => name)).toEqual(['block1', 'block2', 'block3', 'block4']);
  net.dispose();
  // torchvision 0.14: regnet_y_400mf(num_classes=10) has 3,907,554 parameters.
  expect(models.regnetY400mf({ numClasses: 10 }).parameterCount()).toBe(3907554);
});

it('regnetY400mf trains a step on 32x32 inputs (the features reach 1x1); normLayer replaces every BatchNorm2d', () => {
  manualSeed(2);
  const net = models.regnetY400mf({ numClasses: 3 });
  trainStep(net, randn([2, 3, 32, 32]), 3);
  net.eval();
  expect(noGrad(() => net.call(randn([1, 3, 45, 70]))).shape).toEqual([1, 3]);
  net.dispose();
  const frozen = models.regnetY400mf({ normLayer: (c) => new nn.FrozenBatchNorm2d(c) });
  expect([...frozen.modules()].some((m) => m instanceof nn.BatchNorm2d)).toBe(false);
  expect(() => models.regnetY400mf({ numClasses: -2 })).toThrow(/regnetY400mf: expected numClasses/);
});
