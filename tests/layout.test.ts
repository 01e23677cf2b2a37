// Tests mirror lib (issue 12): every file lib/<path>.ts has its tests in
// tests/<path>.test.ts, so one basename finds a file's code, its kernels, its test and its
// bench entry; and every test file tests the lib file of its name, unless it is one of the
// feature-level files listed below.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * lib files without a test of their own. index.ts barrels (re-exports only, checked below)
 * are excepted everywhere and not listed.
 */
const libWithoutTests: ReadonlyMap<string, string> = new Map([
  // Generated from native/include/neocog/primitives.def by scripts/generate-native-types.mjs;
  // tests/runtime/primitives.test.ts checks that it is up to date.
  ['native_primitives.ts', 'generated'],
  // The ClassifierOptions interface: types only, no code.
  ['models/classification/options.ts', 'types only'],
]);

/**
 * Test files that test a feature across several lib files rather than one file. They are
 * allowed beside the per-file tests; each lib file they touch still has its own test file.
 * A path ending in '/' allows a whole folder.
 */
const featureTests: ReadonlyMap<string, string> = new Map([
  ['layout.test.ts', 'this file: the layout of lib and tests'],
  ['readme.test.ts', "the README's examples, run"],
  ['runtime/', 'the addon at run time: streams, worker threads, pinned memory, install, the primitive declarations'],
  ['gpu/', 'CPU/CUDA agreement and training on the GPU'],
  ['docs/', 'TSDoc on every export and the layering of imports'],
  ['bench/', 'the benchmark harness (it mirrors bench/, not lib/)'],
  ['examples/', 'the examples, run end to end in small configurations'],
  ['autograd/ops.test.ts', "every op's gradient against finite differences"],
  ['amp/half.test.ts', 'float16 / bfloat16 tensors through casts, printing, safetensors and the ops that take them'],
  ['models/classification/interop.test.ts', "torchvision's own weights in each model"],
  ['models/classification/zoo_b_interop.test.ts', "torchvision's state dicts and logits for EfficientNet, RegNet, ConvNeXt, GoogLeNet, Inception v3"],
  ['models/classification/zoo_interop.test.ts', "torchvision's state dicts and logits in the larger zoo models (ResNet-101 ... DenseNet-121)"],
  ['nn/module_types.test.ts', "lib/nn/module.ts's types: assignments tsc must accept or refuse"],
  ['data/batch_types.test.ts', 'batch types from item types through the DataLoader, as the README loop needs'],
  ['data/prefetch.test.ts', 'DataLoader loading on worker threads, end to end, for each worker dataset'],
  ['data/prefetch_lifecycle.test.ts', 'DataLoader workers stopping, cancelling and exiting with the process'],
  // About one file (lib/io/safetensors.ts, whose unit tests are safetensors.test.ts), but its
  // thousands of mutants are kept apart so that they run in their own fork, in parallel.
  ['io/safetensors_fuzz.test.ts', 'seeded fuzzing of the safetensors reader against a reference decoder'],
  // Likewise for lib/io/torch.ts (unit tests in torch.test.ts), its zip reader and unpickler.
  ['io/torch_fuzz.test.ts', 'seeded fuzzing of the torch.save reader: truncations, byte flips, mutated pickles'],
]);

/** Paths (with '/') of the files under `dir` whose names end with `suffix`, relative to `dir`. */
function filesUnder(dir: string, suffix: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(suffix)) found.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return found.sort();
}

const isBarrel = (path: string) => path === 'index.ts' || path.endsWith('/index.ts');
const libFiles = filesUnder(join(root, 'lib'), '.ts');
const testFiles = filesUnder(join(root, 'tests'), '.test.ts');
const isFeatureTest = (path: string) => [...featureTests.keys()].some((entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry));

/** The folders of lib, '' for lib itself: one case each, so a failure names its folder. */
const libFolders = [...new Set(libFiles.map((path) => path.slice(0, path.lastIndexOf('/') + 1)))];

describe.each(libFolders)('lib/%s', (folder) => {
  const inFolder = (path: string) => path.startsWith(folder) && !path.slice(folder.length).includes('/');

  it(`every lib/${folder}<name>.ts has tests/${folder}<name>.test.ts`, () => {
    const missing = libFiles
      .filter((path) => inFolder(path) && !isBarrel(path) && !libWithoutTests.has(path))
      .filter((path) => !existsSync(join(root, 'tests', path.replace(/\.ts$/, '.test.ts'))));
    expect(missing).toEqual([]);
  });

  it(`every tests/${folder}<name>.test.ts tests lib/${folder}<name>.ts or is a listed feature test`, () => {
    const strays = testFiles
      .filter((path) => inFolder(path) && !isFeatureTest(path))
      .filter((path) => !existsSync(join(root, 'lib', path.replace(/\.test\.ts$/, '.ts'))));
    expect(strays).toEqual([]);
  });
});

it('test files outside the folders of lib are listed feature tests', () => {
  const strays = testFiles.filter((path) => !libFolders.includes(path.slice(0, path.lastIndexOf('/') + 1)) && !isFeatureTest(path));
  expect(strays).toEqual([]);
});

it('the lists name files and folders that exist, and no excluded lib file has a test after all', () => {
  for (const path of libWithoutTests.keys()) {
    expect(existsSync(join(root, 'lib', path)), `lib/${path}`).toBe(true);
    expect(existsSync(join(root, 'tests', path.replace(/\.ts$/, '.test.ts'))), `tests/${path}: drop it from the list`).toBe(false);
  }
  for (const path of featureTests.keys()) expect(existsSync(join(root, 'tests', path)), `tests/${path}`).toBe(true);
});

it('index.ts barrels only re-export: they have no logic to test', () => {
  for (const path of libFiles.filter(isBarrel)) {
    const code = readFileSync(join(root, 'lib', path), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const statements = code
      .split(';')
      .map((statement) => statement.trim())
      .filter(Boolean);
    const logic = statements.filter((statement) => !/^export\s+(type\s+)?(\*|\*\s+as\s+\w+|\{[^}]*\})\s+from\s+'[^']+'$/.test(statement));
    expect(logic, `lib/${path}`).toEqual([]);
  }
});
