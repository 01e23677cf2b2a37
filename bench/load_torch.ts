// Loading a 100 MB PyTorch checkpoint (issue 17: "io.loadTorch of a 100 MB checkpoint ≥ the
// speed of torch.load (mmap where possible)"): torchvision's resnet50 state dict, written by
// torch.save (PyTorch 1.13) into a temporary folder, read by neocog's io.loadTorch and by
// torch.load of PyTorch 1.13 and 2.x (2.x also with mmap=True), each in a fresh process per
// turn, taking turns: `npx tsx bench/load_torch.ts`. A turn times the first load (right after the
// library is imported, the file in the page cache as it is right after a download or a save),
// then the first load into a model's own parameters (module.loadStateDict / load_state_dict:
// until the weights are in place, which for a mapped load includes reading the pages), then
// the median of 5 loads more in the same process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { waitForIdle } from './alternate.js';
import { roundsFromEnv } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { printTable, saveResults } from './report.js';
import { glibcTuned, torch2Python } from './torch_configs.js';

interface Turn {
  /** The first load, then the first load into a model, then the median of 5 more loads (ms). */
  first: number;
  intoModel: number;
  warm: number;
  tensors: number;
}

const neocogScript = (path: string) => `
import { io, models, synchronize } from './lib/index.js';
const time = async (f) => { const start = performance.now(); const out = await f(); return [performance.now() - start, out]; };
const [first, state] = await time(() => io.loadTorch(${JSON.stringify(path)}));
const tensors = state.size;
for (const t of state.values()) t.dispose();
// The model is built after the first load, as the PyTorch script makes its parameters.
const model = models.resnet50();
await synchronize();
const [intoModel] = await time(async () => {
  const loaded = await io.loadTorch(${JSON.stringify(path)});
  model.loadStateDict(loaded);
  for (const t of loaded.values()) t.dispose();
  await synchronize();
});
const warm = [];
for (let i = 0; i < 5; ++i) {
  const [ms, more] = await time(() => io.loadTorch(${JSON.stringify(path)}));
  warm.push(ms);
  for (const t of more.values()) t.dispose();
}
warm.sort((a, b) => a - b);
console.log(JSON.stringify({ first, intoModel, warm: warm[2], tensors }));`;

// The model's parameters are tensors of the state dict's shapes, filled as load_state_dict
// fills them (copy_ under no_grad); PyTorch 2.x has no torchvision here.
const torchScript = (path: string, mmap: boolean) => `
import json, time, torch
torch.set_num_threads(${describeMachine().cores})
kw = {"mmap": True} if ${mmap ? 'True' : 'False'} else {}
def timed(f):
    start = time.perf_counter(); out = f(); return (time.perf_counter() - start) * 1000, out
first, state = timed(lambda: torch.load(${JSON.stringify(path)}, **kw))
params = {k: torch.empty_like(v) for k, v in state.items()}
del state
def into_model():
    loaded = torch.load(${JSON.stringify(path)}, **kw)
    with torch.no_grad():
        for k, v in loaded.items():
            params[k].copy_(v)
into_model_ms, _ = timed(into_model)
warm = sorted(timed(lambda: torch.load(${JSON.stringify(path)}, **kw))[0] for _ in range(5))
print(json.dumps({"first": first, "intoModel": into_model_ms, "warm": warm[2], "tensors": len(params)}))`;

function turn(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Turn {
  const out = execFileSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop()!) as Turn;
}

const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const folder = mkdtempSync(join(tmpdir(), 'neocog-load-'));
const path = join(folder, 'resnet50.pth');
execFileSync('/usr/bin/python3', ['-c', `import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet50().state_dict(), ${JSON.stringify(path)})`]);
console.log(`checkpoint: torchvision resnet50 state dict, ${(statSync(path).size / 1e6).toFixed(1)} MB, written by torch.save of PyTorch 1.13`);

const contenders: Array<{ name: string; run: () => Turn }> = [
  { name: 'neocog', run: () => turn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', neocogScript(path)]) },
  { name: 'torch 1.13', run: () => turn('/usr/bin/python3', ['-c', torchScript(path, false)], glibcTuned.env) },
  { name: 'torch 2.x', run: () => turn(torch2Python, ['-c', torchScript(path, false)], glibcTuned.env) },
  { name: 'torch 2.x mmap=True', run: () => turn(torch2Python, ['-c', torchScript(path, true)], glibcTuned.env) },
];
const rounds = roundsFromEnv();
const turns = new Map<string, Turn[]>(contenders.map((c) => [c.name, []]));
const skipped = new Map<string, string>();
for (let round = 0; round < rounds; round++) {
  for (const c of contenders) {
    if (skipped.has(c.name)) continue;
    await waitForIdle();
    try {
      turns.get(c.name)!.push(c.run());
    } catch (error) {
      skipped.set(c.name, (error as Error).message.split('\n')[0]!);
    }
  }
}
rmSync(folder, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const measured = contenders.filter((c) => turns.get(c.name)!.length > 0);
const fields = [
  ['first load', 'first'],
  ['first load into a model', 'intoModel'],
  ['later loads (median of 5)', 'warm'],
] as const;
printTable(
  fields.map(([label, field]) => {
    const ours = median(turns.get('neocog')!.map((t) => t[field]));
    const peers = measured.filter((c) => c.name !== 'neocog').map((c) => median(turns.get(c.name)!.map((t) => t[field])));
    const row: Record<string, string | number> = { row: label };
    for (const c of measured) row[`${c.name} ms`] = median(turns.get(c.name)!.map((t) => t[field])).toFixed(1);
    row['best torch / neocog'] = (Math.min(...peers) / ours).toFixed(2);
    return row;
  }),
);
for (const [name, why] of skipped) console.log(`${name}: skipped, ${why}`);
console.log(`medians of ${rounds} rounds; > 1: neocog loads faster than the fastest PyTorch`);
console.log(`wrote ${saveResults('load_torch', { machine, rounds, configs: [{ torch: glibcTuned.label }], cases: contenders.map((c) => ({ name: c.name, turns: turns.get(c.name) })) })}`);
