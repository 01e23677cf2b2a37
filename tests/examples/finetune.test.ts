// examples/finetune.ts run end to end in a small configuration: torchvision's resnet18 from its
// torch.save file (made by tests/fixtures/make_torch_fixtures.py --interop; CI makes it), a new
// head, 16 steps on 512 bundled Fashion-MNIST images, then accuracy on 500 test images.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { expect, it } from 'vitest';

import { interopTest } from '../helpers/interop.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const tsx = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const example = (...argv: string[]) => run(process.execPath, ['--import', tsx, join(repo, 'examples', 'finetune.ts'), ...argv], { cwd: repo });

interopTest(
  'resnet18.pth',
  '/usr/bin/python3 tests/fixtures/make_torch_fixtures.py --interop',
  'examples/finetune.ts: resnet18.pth loads, gets a 10-class head and fine-tunes above chance',
  async (weights) => {
    const { stdout } = await example('--weights', weights, '--train-size', '512', '--test-size', '500');
    expect(stdout).toMatch(/loaded .*resnet18\.pth; fine-tuning on 512 images \(32×32, 3 channels\)/);
    const accuracy = /test accuracy: (\S+)% on 500 official test images/.exec(stdout);
    expect(accuracy, stdout).not.toBeNull();
    expect(Number(accuracy![1])).toBeGreaterThan(20); // chance is 10%
  },
  { timeout: 120_000 },
);

it('examples/finetune.ts without --weights says how to make them', async () => {
  const failed = await example().catch((error: { code: number; stderr: string }) => error);
  expect(failed).toMatchObject({ code: 2 });
  expect((failed as { stderr: string }).stderr).toMatch(/Pass --weights path\/to\/resnet18\.pth[\s\S]*torch\.save\(torchvision\.models\.resnet18[\s\S]*make_torch_fixtures\.py --interop/);
});
