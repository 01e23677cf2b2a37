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

/** The URL to import for a ref's module: absolute paths become `file:` URLs. */
export function moduleUrl(module: string): string {
  return isAbsolute(module) ? pathToFileURL(module).href : module;
}

/** True for modules that need a TypeScript loader (tsx) to be imported. */
export function isTypeScriptModule(module: string): boolean {
  return /\.[cm]?ts$/.test(module.split(/[?#]/)[0]!);
}

/** Imports a ref's module and returns its export, checking that it is a function. */
export async function importFactory(ref: ModuleRef, caller: string): Promise<(args: unknown) => unknown> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(moduleUrl(ref.module))) as Record<string, unknown>;
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
