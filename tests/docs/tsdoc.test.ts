// Every export reachable from lib/index.ts (namespaces included) and every member of an
// exported *Options object, and each overload of an exported function, carries TSDoc. Checked with the TypeScript compiler API on the
// sources, so an export added anywhere later is checked too; the walker itself is checked
// on a small in-memory library with known gaps.
import { resolve } from 'node:path';

import ts from 'typescript';
import { expect, it } from 'vitest';

import { undocumentedExports } from './tsdoc_walk.js';

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
};

it('every public export of lib/index.ts and every option has TSDoc', () => {
  const root = resolve(import.meta.dirname, '../../lib');
  const entry = resolve(root, 'index.ts');
  const program = ts.createProgram([entry], compilerOptions);
  expect(undocumentedExports(program, entry, root)).toEqual([]);
}, 120_000);

it('the walk finds undocumented exports, namespace members and option fields, and nothing else', () => {
  const files: Record<string, string> = {
    '/lib/index.ts': [
      "export * as ns from './ns.js';",
      "export { documented, bare, overloaded, type Shape } from './top.js';",
      "export { documented as again } from './top.js';",
    ].join('\n'),
    '/lib/top.ts': [
      '/** Documented. */',
      'export function documented(): void {}',
      'export function bare(): void {}',
      'export type Shape = number[];',
      '/** With a number. */',
      'export function overloaded(x: number): number;',
      'export function overloaded(x: string): string;',
      'export function overloaded(x: number | string): number | string { return x; }',
    ].join('\n'),
    '/lib/ns.ts': [
      '/** @module */',
      '/** Options. */',
      'export interface FooOptions {',
      '  /** Documented (default 1). */',
      '  a?: number;',
      '  b?: number;',
      '}',
      '/** Type-literal options. */',
      'export type BarOptions = {',
      '  /** Documented. */',
      '  c: string;',
      '  d: string;',
      '};',
      '/** Not an options object: members are not required. */',
      'export interface Result { e: number }',
      '/**',
      ' * @param x - documented by tags only',
      ' */',
      'export function tagged(x: number): number { return x; }',
      '/** @internal */',
      'export const hidden = 1;',
      'export class Plain {}',
    ].join('\n'),
  };
  const host = ts.createCompilerHost(compilerOptions);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (f) => f in files || fileExists(f);
  host.readFile = (f) => files[f] ?? readFile(f);
  host.getSourceFile = (f, version, onError) => (f in files ? ts.createSourceFile(f, files[f]!, version, true) : getSourceFile(f, version, onError));
  const program = ts.createProgram(['/lib/index.ts'], compilerOptions, host);
  expect(undocumentedExports(program, '/lib/index.ts', '/lib')).toEqual([
    'Shape',
    'bare',
    'ns.BarOptions.d',
    'ns.FooOptions.b',
    'ns.Plain',
    'ns.hidden',
    'overloaded (overload 2)',
  ]);
});
