/** Shared output for benchmark programs: a table on stdout and a JSON file in bench/results/. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The target, as text ("≤ 10 s"), and whether the figure meets it. */
  target?: string;
  meets?: boolean;
}

export function machine(): Record<string, string | number> {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** The machine's CPU time so far, all cores, in clock ticks: in all, and taken by the hypervisor. */
export interface CpuTimes {
  total: number;
  stolen: number;
}

/** Read from /proc/stat; undefined where there is none (not Linux). */
export function cpuTimes(): CpuTimes | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user and nice.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((tick) => !Number.isFinite(tick))) return undefined;
  return { total: ticks.reduce((sum, tick) => sum + tick, 0), stolen: ticks[7] as number };
}

/**
 * The percentage of the machine's CPU time since `before` that the hypervisor gave to other guests (vmstat's
 * `st`). On a shared virtual machine this is what makes one run of a CPU-bound figure slower than the next:
 * the benches print it beside such figures. NaN when unknown.
 */
export function stolenPercentSince(before: CpuTimes | undefined): number {
  const after = cpuTimes();
  if (before === undefined || after === undefined || after.total <= before.total) return Number.NaN;
  return (100 * (after.stolen - before.stolen)) / (after.total - before.total);
}

export function printFigures(title: string, figures: Figure[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...figures.map((figure) => figure.name.length));
  for (const figure of figures) {
    const value = Number.isInteger(figure.value)
      ? figure.value.toLocaleString('en')
      : figure.value.toFixed(figure.value < 10 ? 3 : 1);
    const target = figure.target ? `  target ${figure.target}: ${figure.meets ? 'meets' : 'MISSES'}` : '';
    console.log(`  ${figure.name.padEnd(width)}  ${value.padStart(12)} ${figure.unit}${target}`);
  }
}

export function writeResults(name: string, payload: object): string {
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const file = new URL(`${name}.json`, directory);
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), ...payload }, null, 2)}\n`,
  );
  return file.pathname;
}

export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.ceil(fraction * sortedValues.length) - 1);
  return sortedValues[Math.max(0, index)] as number;
}
