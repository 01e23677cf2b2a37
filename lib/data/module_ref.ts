/**
 * References to code by module and export name. Closures cannot be sent to a worker
 * thread; a {@link ModuleRef} can, because every thread can import the module itself.
 * @module
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ArgumentError } from '../errors.js';

/**
 * A factory exported by an ES module: `(await import(module))[exportName](args)`.
 * `module` is a `file:` URL (e.g. `new URL('./augment.js', import.meta.url).href`) or an
 * absolute path; `args` must survive `structuredClone` (JSON-like data, typed arrays).
 */
export interface ModuleRef {
  module: string;
  exportName: string;
  args?: unknown;
}

/** True when `value` has the shape of a {@link ModuleRef}. */
export function isModuleRef(value: unknown): value is ModuleRef {
  if (typeof value !== 'object' || value === null) return false;
  const { module, exportName } = value as Partial<ModuleRef>;
  return typeof module === 'string' && typeof exportName === 'string';
}

/**
 * The URL to import for a ref's module: absolute paths become `file:` URLs. A relative
 * path is refused: workers would resolve it against neocog's own folder, not the caller's.
 */
export function moduleUrl(module: string, caller: string): string {
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  throw new ArgumentError(`${caller}: expected module to be a URL (e.g. new URL('./x.js', import.meta.url).href) or an absolute path, got ${module}`);
}

/** True for modules that need a TypeScript loader (tsx) to be imported. */
export function isTypeScriptModule(module: string): boolean {
  return /\.[cm]?ts$/.test(module.split(/[?#]/)[0]!);
}

/** Imports a ref's module and returns its export, checking that it is a function. */
export async function importFactory(ref: ModuleRef, caller: string): Promise<(args: unknown) => unknown> {
  const url = moduleUrl(ref.module, caller);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw new ArgumentError(`${caller}: cannot import module ${ref.module} (${(cause as Error).message})`);
  }
  const factory = exports[ref.exportName];
  if (typeof factory !== 'function') {
    throw new ArgumentError(`${caller}: module ${ref.module} has no exported function ${ref.exportName}`);
  }
  return factory as (args: unknown) => unknown;
}

/** Imports a ref's factory and calls it with the ref's args. */
export async function buildFromRef(ref: ModuleRef, caller: string): Promise<unknown> {
  return (await importFactory(ref, caller))(ref.args);
}
