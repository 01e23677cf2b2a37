// The rendered progress line: rates carry their unit (img/s or batch/s) and keep
// significant figures when slow; the ETA reads in minutes once it is long.
import { afterEach, expect, it, vi } from 'vitest';

import { train } from '../../lib/index.js';

function capture(isTTY: boolean): { lines: string[]; stream: NodeJS.WriteStream } {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
}

/** Makes performance.now() read `ms` from the next call on. */
function clockAt(ms: number): void {
  vi.spyOn(performance, 'now').mockReturnValue(ms);
}

afterEach(() => {
  vi.restoreAllMocks();
});

it('counting images shows img/s and an ETA', () => {
  const { lines, stream } = capture(false);
  clockAt(0);
  const bar = new train.ProgressBar('epoch 1', 8, 32, stream);
  clockAt(2000); // 2 steps of 32 images in 2 s: 32 img/s, 6 steps (192 images) left: 6 s
  bar.update(2, 'loss 0.5000');
  expect(lines).toEqual(['epoch 1 2/8 loss 0.5000 32.0 img/s ETA 6s\n']);
});

it('counting batches shows batch/s, with two decimals when slow', () => {
  const { lines, stream } = capture(false);
  clockAt(0);
  const bar = new train.ProgressBar('epoch 2', 400, 1, stream);
  clockAt(100_000); // 100 batches in 100 s
  bar.update(100);
  clockAt(300_000); // 300 batches in 300 s, 100 left
  bar.update(300, 'loss 1.2');
  expect(lines).toEqual(['epoch 2 100/400 1.00 batch/s ETA 5m00s\n', 'epoch 2 300/400 loss 1.2 1.00 batch/s ETA 1m40s\n']);
  lines.length = 0;
  clockAt(0);
  const slow = new train.ProgressBar('big', 8, 1, stream);
  clockAt(8000);
  slow.update(2); // 0.25 batch/s, not "0/s"
  expect(lines).toEqual(['big 2/8 0.25 batch/s ETA 24s\n']);
});

it('an explicit unit, a TTY bar and an unknown total', () => {
  const { lines, stream } = capture(true);
  clockAt(0);
  const bar = new train.ProgressBar('val', 4, 10, stream, 'sample');
  clockAt(500);
  bar.update(4);
  expect(lines).toEqual([`\r[${'='.repeat(24)}] val 4/4 80.0 sample/s ETA 0s`, '\n']);
  lines.length = 0;
  clockAt(0);
  const open = new train.ProgressBar('stream', Number.NaN, 1, stream);
  clockAt(1000);
  open.update(250);
  expect(lines).toEqual(['\rstream 250 250 batch/s']);
  expect(new train.ProgressBar('x', 1, 1, stream, undefined).unit).toBe('batch');
  expect(new train.ProgressBar('x', 1, 64, stream).unit).toBe('img');
});
