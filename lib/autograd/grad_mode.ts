/**
 * Whether ops record the autograd graph (torch.no_grad / torch.enable_grad). The mode
 * follows async calls, through AsyncLocalStorage, so `await` inside noGrad stays no-grad.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const mode = new AsyncLocalStorage<boolean>();

/** True unless inside {@link noGrad} (and not re-enabled by {@link enableGrad}). */
export function isGradEnabled(): boolean {
  return mode.getStore() ?? true;
}

/**
 * Runs `fn` without recording the autograd graph: faster, and no tensors are saved for
 * backward. Use it for inference and for parameter updates.
 */
export function noGrad<T>(fn: () => T): T {
  return mode.run(false, fn);
}

/** Runs `fn` with graph recording on, even inside {@link noGrad}. */
export function enableGrad<T>(fn: () => T): T {
  return mode.run(true, fn);
}
