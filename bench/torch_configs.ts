// The PyTorch configurations neocog is measured against, each a peer process:
//  - PyTorch 1.13 (Debian's python3-torch) tuned: the faster of glibc with large mmap/trim
//    thresholds and jemalloc that keeps freed pages (a probe decides, and prints which),
//    plus ATen's AVX-512 kernels where the build does not pick them itself; NCHW and
//    channels_last both timed, the faster reported.
//  - PyTorch 1.13 default: what `import torch` gives (glibc defaults, NCHW), threads = cores.
//  - PyTorch 2.x tuned, from the venv bench/run.sh makes out of a local CPU wheel; skipped
//    with the reason printed when there is none.
// In these VMs every fresh large allocation page-faults, and glibc returns big blocks to the
// OS after each op, so an untuned PyTorch pays a fault per page per op (5-50x on large ops).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { Contender } from './alternate.js';
import { Peer, type MemoryFormat, type PeerInfo, type PeerKind } from './peer.js';

const jemallocPath = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
/** The venv bench/run.sh creates for the PyTorch 2.x peer; NEOCOG_TORCH2_PYTHON overrides. */
export const torch2Python = process.env.NEOCOG_TORCH2_PYTHON ?? join(homedir(), '.cache/neocog/torch2/bin/python');
const bothFormats: MemoryFormat[] = ['nchw', 'channels_last'];

/** One allocator / kernel-set choice for a tuned peer. */
interface Tuning {
  label: string;
  env: Record<string, string>;
}

export const glibcTuned: Tuning = {
  label: 'glibc malloc, MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736',
  env: { MALLOC_MMAP_THRESHOLD_: '4294967296', MALLOC_TRIM_THRESHOLD_: '68719476736' },
};
// jemalloc's default decay also hands freed pages back to the OS after a while; -1 keeps them.
const jemallocTuned: Tuning = {
  label: 'jemalloc (LD_PRELOAD), MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1',
  env: { LD_PRELOAD: jemallocPath, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' },
};

/** Our environment without anything that changes a peer's allocator, kernels or threads. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('MALLOC_') || ['LD_PRELOAD', 'ATEN_CPU_CAPABILITY', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'].includes(key)) delete env[key];
  }
  return env;
}

const cpuHasAvx512 = () => {
  try {
    return / avx512f /.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
};

/** A PyTorch configuration as a contender of {@link alternate}. */
function contender(name: string, peer: Peer): Contender {
  return {
    name,
    prepare: (i) => peer.prepare(i),
    run: (i) => peer.run(i),
    release: (i) => peer.release(i),
  };
}

interface Started {
  peer: Peer;
  info: PeerInfo;
  tunings: Tuning[];
}

/** Starts a peer with the given tunings on top of a plain environment, timing both layouts. */
async function startTuned(kind: PeerKind, python: string, tunings: Tuning[], cases: readonly object[], threads: number): Promise<Started> {
  const env = { ...plainEnv(), ...Object.assign({}, ...tunings.map((t) => t.env)) } as NodeJS.ProcessEnv;
  return { ...(await Peer.start(kind, { python, env, formats: bothFormats }, cases, threads)), tunings };
}

/**
 * Keeps the started peer whose probe (large fresh tensors, conv, pool) is fastest and closes
 * the others. Three alternating rounds, each candidate's best round: a round that another
 * process slowed down says nothing about the allocator. Returns the probe figures for the log.
 */
async function fastest(started: Started[]): Promise<Started & { report: string[] }> {
  const bests = started.map(() => Infinity);
  const faults = started.map(() => Infinity);
  for (let round = 0; round < 3; ++round) {
    for (const [i, s] of started.entries()) {
      const probe = await s.peer.probe();
      bests[i] = Math.min(bests[i]!, probe.ms);
      faults[i] = Math.min(faults[i]!, probe.faults);
    }
  }
  const best = bests.indexOf(Math.min(...bests));
  started.forEach((s, i) => i !== best && s.peer.close());
  const report = started.map((s, i) => `${tuningOf(s)}: ${bests[i]!.toFixed(1)} ms, ${faults[i]} page faults`);
  return { ...started[best]!, report };
}

const tuningOf = (s: Started) => s.tunings.map((t) => t.label).join(' + ');

/** The peers in turn order, and a line per configuration (or skip reason) for the log. */
export interface TorchPeers {
  contenders: Contender[];
  /** Every configuration's description: version, allocator, kernel set, probe figures. */
  notes: string[];
  /** Labels and info per contender, for the results JSON. */
  configs: { name: string; torch: string; capability: string; tuning: string; formats: MemoryFormat[]; probes?: string[] }[];
  close(): void;
}

/**
 * Starts the tuned 1.13, default 1.13 and (when present) tuned 2.x peers. `withTorch2: false`
 * leaves out the 2.x peer, noting why: for workloads that need torchvision, which does not
 * load next to the 2.x wheel here.
 */
export async function startTorchPeers(kind: PeerKind, cases: readonly object[], threads: number, opts: { withTorch2?: boolean } = {}): Promise<TorchPeers> {
  const notes: string[] = [];
  const peers: Peer[] = [];
  const result: TorchPeers = { contenders: [], notes, configs: [], close: () => peers.forEach((p) => p.close()) };
  const allocators = existsSync(jemallocPath) ? [[glibcTuned], [jemallocTuned]] : [[glibcTuned]];
  if (!existsSync(jemallocPath)) notes.push(`jemalloc not installed (${jemallocPath}): tuned PyTorch uses glibc thresholds only`);

  const tune = async (python: string) => {
    const candidates: Started[] = [];
    for (const tunings of allocators) candidates.push(await startTuned(kind, python, tunings, cases, threads));
    let pick = await fastest(candidates);
    const probes = [...pick.report];
    // Debian's 1.13 runs ATen's AVX2 kernels on AVX-512 machines unless told otherwise.
    if (pick.info.capability !== 'AVX512' && cpuHasAvx512()) {
      const avx512: Tuning = { label: 'ATEN_CPU_CAPABILITY=avx512', env: { ATEN_CPU_CAPABILITY: 'avx512' } };
      pick = await fastest([pick, await startTuned(kind, python, [...pick.tunings, avx512], cases, threads)]);
      probes.push(...pick.report);
    }
    return { ...pick, probes };
  };

  const tuned1 = await tune('/usr/bin/python3');
  const default1 = await Peer.start(kind, { python: '/usr/bin/python3', env: plainEnv(), formats: ['nchw'] }, cases, threads);
  const add = (name: string, s: { peer: Peer; info: PeerInfo; probes?: string[] }, tuning: string, formats: MemoryFormat[]) => {
    peers.push(s.peer);
    result.contenders.push(contender(name, s.peer));
    result.configs.push({ name, torch: s.info.torch, capability: s.info.capability, tuning, formats, ...(s.probes ? { probes: s.probes } : {}) });
    notes.push(`${name}: PyTorch ${s.info.torch}, ${s.info.threads} threads, ATen ${s.info.capability}, ${tuning}, layouts ${formats.join('/')}`);
  };
  add('torch1.13 tuned', tuned1, tuningOf(tuned1), bothFormats);
  notes.push(`  probe (best of 3 rounds; lower ms wins): ${tuned1.probes.join('; ')}`);
  add('torch1.13 default', default1, 'default allocator', ['nchw']);

  if (opts.withTorch2 === false) {
    notes.push('torch2 tuned: skipped, these cases need torchvision, whose wheels for PyTorch 2.x do not load here');
  } else if (!existsSync(torch2Python)) {
    notes.push(`torch2 tuned: skipped, no PyTorch 2.x venv at ${torch2Python} (bench/run.sh creates it from a torch-2.*+cpu wheel in /opt/wheels)`);
  } else {
    try {
      const tuned2 = await tune(torch2Python);
      if (!tuned2.info.torch.startsWith('2.')) throw new Error(`it has PyTorch ${tuned2.info.torch}`);
      add('torch2 tuned', tuned2, tuningOf(tuned2), bothFormats);
      notes.push(`  probe (best of 3 rounds; lower ms wins): ${tuned2.probes.join('; ')}`);
    } catch (e) {
      notes.push(`torch2 tuned: skipped, ${torch2Python} did not start a PyTorch 2.x peer: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return result;
}
