// What the figures were measured on: CPU model, cores, the measured FP32 peak and how busy
// the machine was, printed above each table and stored in bench/results/*.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

/** The machine a bench run measured on. */
export interface Machine {
  /** lscpu's "Model name". */
  cpu: string;
  /** Cores the peers and neocog were given (torch.set_num_threads, OpenMP). */
  cores: number;
  /** FP32 GFLOP/s that bench/peak.cc's FMA loop reached over all cores. */
  peakGflops: number;
  /** The vector ISA that loop ran on (avx512 or avx2-fma). */
  peakIsa: string;
  /** 1-minute load average when the run started: above ~0.5 the figures are noisy. */
  loadAverage: number;
}

const peakSource = 'bench/peak.cc';
const peakBinary = 'bench/.build/peak';

function cpuModel(): string {
  try {
    const line = execFileSync('lscpu', { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.startsWith('Model name:'));
    if (line) return line.slice('Model name:'.length).trim();
  } catch {
    // lscpu missing: fall back to what Node reads from /proc/cpuinfo.
  }
  return cpus()[0]?.model ?? 'unknown cpu';
}

/** Compiles the FMA loop for this CPU (once; again when the source changes) and runs it. */
function measurePeak(cores: number): { gflops: number; isa: string } {
  if (!existsSync(peakBinary) || statSync(peakBinary).mtimeMs < statSync(peakSource).mtimeMs) {
    mkdirSync('bench/.build', { recursive: true });
    execFileSync('g++', ['-O3', '-march=native', '-pthread', '-o', peakBinary, peakSource], { stdio: 'inherit' });
  }
  const out = JSON.parse(execFileSync(peakBinary, [String(cores)], { encoding: 'utf8' })) as { gflops: number; isa: string };
  return { gflops: out.gflops, isa: out.isa };
}

/** Describes this machine and measures its FP32 peak (about a second). */
export function describeMachine(): Machine {
  const cores = availableParallelism();
  const loadAverage = loadavg()[0] ?? 0;
  const peak = measurePeak(cores);
  return { cpu: cpuModel(), cores, peakGflops: peak.gflops, peakIsa: peak.isa, loadAverage: +loadAverage.toFixed(2) };
}

/** The lines printed above a table: machine, measured peak, and a warning when it was busy. */
export function machineLines(m: Machine): string[] {
  const lines = [
    `machine: ${m.cpu}, ${m.cores} cores; measured FP32 peak ${m.peakGflops} GFLOP/s (${m.peakIsa} FMA loop on ${m.cores} threads, bench/peak.cc)`,
  ];
  if (m.loadAverage > 0.5) {
    lines.push(`warning: load average ${m.loadAverage} at start: other processes share the cores, figures (and the peak) are noisy`);
  }
  return lines;
}
