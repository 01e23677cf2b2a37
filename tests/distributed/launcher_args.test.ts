import { expect, it } from 'vitest';

import { LAUNCHER_USAGE, parseLauncherArgs, wantsHelp } from '../../lib/distributed/launcher_args.js';
import { ArgumentError } from '../../lib/errors.js';

const defaults = { nprocPerNode: 1, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, launcher: 'auto' };

it('parseLauncherArgs takes the script and passes its arguments through untouched', () => {
  expect(parseLauncherArgs(['train.ts'])).toEqual({ ...defaults, script: 'train.ts', scriptArgs: [] });
  expect(parseLauncherArgs(['--nproc-per-node', '4', 'train.ts', '--nproc-per-node', '9', '-h'])).toEqual({
    ...defaults,
    nprocPerNode: 4,
    script: 'train.ts',
    scriptArgs: ['--nproc-per-node', '9', '-h'],
  });
  // `--` ends the options, so a script may start with '-'.
  expect(parseLauncherArgs(['--', '-odd.js', 'x'])).toMatchObject({ script: '-odd.js', scriptArgs: ['x'] });
});

it('parseLauncherArgs reads every option, with - or _, a separate value or =', () => {
  const argv = ['--nproc_per_node=2', '--nnodes', '3', '--node-rank', '2', '--master_addr', 'head', '--master-port=1234', '--launcher', 'spawn', 'a.mjs', 'b'];
  expect(parseLauncherArgs(argv)).toEqual({ nprocPerNode: 2, nnodes: 3, nodeRank: 2, masterAddr: 'head', masterPort: 1234, launcher: 'spawn', script: 'a.mjs', scriptArgs: ['b'] });
  expect(parseLauncherArgs(['--launcher', 'mpirun', '--launcher=spawn', 'a.js']).launcher).toBe('spawn'); // the last one wins
});

it('parseLauncherArgs refuses bad command lines, naming the option and its value', () => {
  const bad: [string[], string][] = [
    [[], 'neocog-run: missing the script to run (usage: neocog-run [options] script [args...])'],
    [['--nproc-per-node', '2'], 'neocog-run: missing the script to run'],
    [['--nproc-per-node', 'two', 'a.ts'], "neocog-run: expected --nproc-per-node to be a positive integer, got 'two'"],
    [['--nproc-per-node', '0', 'a.ts'], "neocog-run: expected --nproc-per-node to be a positive integer, got '0'"],
    [['--nproc-per-node', '-1', 'a.ts'], "neocog-run: expected --nproc-per-node to be a positive integer, got '-1'"],
    [['--nproc-per-node=1.5', 'a.ts'], "neocog-run: expected --nproc-per-node to be a positive integer, got '1.5'"],
    [['--nnodes', '2', '--node-rank', '2', 'a.ts'], "neocog-run: expected --node-rank to be an integer in 0..1, got '2'"],
    [['--master-port', '65536', 'a.ts'], "neocog-run: expected --master-port to be an integer in 1..65535, got '65536'"],
    [['--master-addr=', 'a.ts'], "neocog-run: expected --master-addr to be a host name or address, got ''"],
    [['--launcher', 'ssh', 'a.ts'], "neocog-run: expected --launcher to be one of auto, mpirun, spawn, got 'ssh'"],
    [['--nproc-per-node'], 'neocog-run: option --nproc-per-node needs a value'],
    [['--verbose', 'a.ts'], "neocog-run: unknown option '--verbose' (see neocog-run --help)"],
  ];
  for (const [argv, message] of bad) {
    expect(() => parseLauncherArgs(argv), argv.join(' ')).toThrow(ArgumentError);
    expect(() => parseLauncherArgs(argv), argv.join(' ')).toThrow(message);
  }
  expect(() => parseLauncherArgs('a.ts' as never)).toThrow(ArgumentError);
});

it('wantsHelp looks only at the launcher options', () => {
  expect(wantsHelp(['--help'])).toBe(true);
  expect(wantsHelp(['--nproc-per-node', '2', '-h', 'a.ts'])).toBe(true);
  expect(wantsHelp(['a.ts', '--help'])).toBe(false);
  expect(wantsHelp(['--bogus', '--help'])).toBe(false);
  expect(LAUNCHER_USAGE).toContain('--launcher K');
});
