// lib/data/module_ref.ts: references to code by module and export name — their shape, the
// URL each thread imports, and the errors of a ref that does not resolve.
import { fileURLToPath, pathToFileURL } from 'node:url';

import { expect, it } from 'vitest';

import { buildFromRef, importFactory, isModuleRef, isTypeScriptModule, moduleUrl } from '../../lib/data/module_ref.js';
import { ArgumentError } from '../../lib/index.js';

const fixture = new URL('./image_transforms.fixture.ts', import.meta.url).href;

it('isModuleRef wants a module and an export name, both strings', () => {
  expect(isModuleRef({ module: fixture, exportName: 'scale' })).toBe(true);
  expect(isModuleRef({ module: fixture, exportName: 'scale', args: { factor: 2 } })).toBe(true);
  expect(isModuleRef({ module: fixture })).toBe(false);
  expect(isModuleRef({ module: 1, exportName: 'scale' })).toBe(false);
  expect(isModuleRef(null)).toBe(false);
  expect(isModuleRef(() => 0)).toBe(false);
});

it('moduleUrl takes URLs and absolute paths and refuses relative ones, naming the caller', () => {
  expect(moduleUrl(fixture, 'DataLoader')).toBe(fixture);
  expect(moduleUrl('node:path', 'DataLoader')).toBe('node:path');
  expect(moduleUrl('/srv/augment.js', 'DataLoader')).toBe(pathToFileURL('/srv/augment.js').href);
  expect(() => moduleUrl('./augment.js', 'DataLoader')).toThrow(ArgumentError);
  expect(() => moduleUrl('./augment.js', 'DataLoader')).toThrow(/^DataLoader: expected module to be a URL .* or an absolute path, got \.\/augment\.js$/);
});

it('isTypeScriptModule looks at the extension, ignoring query and hash', () => {
  expect(isTypeScriptModule(fixture)).toBe(true);
  expect(isTypeScriptModule('/a/b.mts?v=1')).toBe(true);
  expect(isTypeScriptModule('/a/b.cts#x')).toBe(true);
  expect(isTypeScriptModule('/a/b.js')).toBe(false);
  expect(isTypeScriptModule('/a/ts.mjs')).toBe(false);
});

it('buildFromRef imports the factory (by URL or path) and calls it with the args', async () => {
  const scale = (await buildFromRef({ module: fixture, exportName: 'scale', args: { factor: 2 } }, 'test')) as (x: { mul(f: number): unknown }) => unknown;
  expect(scale({ mul: (f: number) => f * 10 })).toBe(20);
  const byPath = await importFactory({ module: fileURLToPath(fixture), exportName: 'noise' }, 'test');
  expect(typeof byPath).toBe('function');
});

it('a module that does not import, or has no such function, is an ArgumentError naming both', async () => {
  const missing = pathToFileURL('/nonexistent/augment.js').href;
  await expect(importFactory({ module: missing, exportName: 'f' }, 'ImageFolder')).rejects.toThrow(ArgumentError);
  await expect(importFactory({ module: missing, exportName: 'f' }, 'ImageFolder')).rejects.toThrow(`ImageFolder: cannot import module ${missing}`);
  await expect(importFactory({ module: fixture, exportName: 'rotate' }, 'ImageFolder')).rejects.toThrow(
    `ImageFolder: module ${fixture} has no exported function rotate`,
  );
  await expect(importFactory({ module: 'node:path', exportName: 'sep' }, 'ImageFolder')).rejects.toThrow(/has no exported function sep/);
});
