// Ending threads that run neocog ops never takes the process down (DESIGN §7): terminating
// a worker mid-op (small ops that read values, a long convolution) or exiting the process
// with ops queued on every thread. Each case is a child process; a native abort shows up
// as a signal or exit code 134 and "terminate called" on stderr.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./worker_shutdown.fixture.ts', import.meta.url));

function runFixture(mode: 'terminate' | 'exit', delayMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', fixture, mode, String(delayMs)], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, signal: error?.signal ?? null, stdout, stderr });
    });
  });
}

// Delays spread over the workers' start-up, their small-op loops and the long convolution.
const delays = [0, 30, 120, 250];

it.each(delays)('worker.terminate() %i ms into the ops: the process lives and this thread keeps working', async (delayMs) => {
  const result = await runFixture('terminate', delayMs);
  expect(result.stderr).not.toContain('terminate called');
  expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
  expect(result.stdout).toContain('ok finite');
});

it.each(delays.slice(1, 3))('process.exit(0) %i ms into the ops on every thread exits with 0', async (delayMs) => {
  const result = await runFixture('exit', delayMs);
  expect(result.stderr).not.toContain('terminate called');
  expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
});
