/**
 * The device type mixed precision serves when none is named, and the warning PyTorch gives
 * when 'cuda' is named on a machine without it. Shared by autocast and GradScaler.
 * @module
 */
import { cudaUnavailableReason } from '../cuda.js';

/** A device type as autocast and GradScaler take it. */
export type AmpDeviceType = 'cuda' | 'cpu';

/** @internal 'cuda' when CUDA is usable here, else 'cpu'. */
export function availableDeviceType(): AmpDeviceType {
  return cudaUnavailableReason() === null ? 'cuda' : 'cpu';
}

const warned = new Set<string>();

/**
 * @internal True when `deviceType` can be used; for an unusable 'cuda', warns once per
 * caller (`who`, e.g. 'autocast') that it is disabled, as PyTorch does, and returns false.
 */
export function usableDeviceType(who: string, deviceType: AmpDeviceType): boolean {
  if (deviceType === 'cpu') return true;
  const reason = cudaUnavailableReason();
  if (reason === null) return true;
  if (!warned.has(who)) {
    warned.add(who);
    process.emitWarning(`${who}: deviceType 'cuda' was given, but CUDA is not available (${reason}); disabling ${who}`, {
      code: 'NEOCOG_AMP_CUDA_UNAVAILABLE',
    });
  }
  return false;
}
