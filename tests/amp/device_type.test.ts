// A 'cuda' device type asked of autocast or GradScaler on a machine without CUDA: one
// warning each, then both run disabled (PyTorch's behaviour). In a file of its own because
// the warning is given once per process.
import { expect, it, vi } from 'vitest';

import { autocast, cuda, GradScaler, isAutocastEnabled, matmul, randn } from '../../lib/index.js';

it.runIf(!cuda.isAvailable())("'cuda' without CUDA warns once and disables autocast and GradScaler, as PyTorch", () => {
  const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    const a = randn([3, 3]);
    const exact = matmul(a, a).dataSync();
    for (let i = 0; i < 2; i++) {
      autocast(() => {
        expect(isAutocastEnabled('cuda')).toBe(false);
        expect(matmul(a, a).dataSync()).toEqual(exact);
      }, { deviceType: 'cuda' });
    }
    // enabled: false asks for nothing, so there is nothing to warn about.
    autocast(() => 0, { deviceType: 'cuda', enabled: false });
    const scaler = new GradScaler({ device: 'cuda' });
    expect(scaler.isEnabled()).toBe(false);
    expect(scaler.getScale()).toBe(1);
    expect(new GradScaler({ device: 'cuda' }).isEnabled()).toBe(false);
    expect(new GradScaler({ device: 'cpu' }).isEnabled()).toBe(true);
    const messages = warn.mock.calls.map(([message]) => String(message));
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^autocast: deviceType 'cuda' was given, but CUDA is not available \(.+\); disabling autocast$/);
    expect(messages[1]).toMatch(/^GradScaler: deviceType 'cuda' was given, but CUDA is not available \(.+\); disabling GradScaler$/);
    expect(warn.mock.calls[0]![1]).toEqual({ code: 'NEOCOG_AMP_CUDA_UNAVAILABLE' });
  } finally {
    warn.mockRestore();
  }
});
