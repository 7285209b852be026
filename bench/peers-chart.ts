/**
 * The peers chart (bench/peers-chart.svg) from bench/results/peers.json: throughput on a log scale, and
 * accuracy by category group. Hand-drawn SVG: a few rectangles and labels need no charting library.
 *
 * Run alone to redraw it from the last results: node --import tsx bench/peers-chart.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AccuracyReport } from '../src/data/evaluate.js';

interface PeersResults {
  entities: number;
  sample: number;
  at: string;
  machine: { cpus: number; cpuModel: string; node: string };
  systems: { name: string; queriesPerSecond: number; threads: number; accuracy: AccuracyReport }[];
}

const colors = ['#1f6feb', '#d29922', '#bf8700', '#8250df'];

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
}

function label(
  x: number,
  y: number,
  content: string,
  options: { size?: number; bold?: boolean } = {},
): string {
  return `<text x="${x.toFixed(1)}" y="${y}" font-family="sans-serif" font-size="${options.size ?? 12}"${options.bold ? ' font-weight="bold"' : ''}>${escapeXml(content)}</text>`;
}

function groupShare(report: AccuracyReport, goal: string): number {
  const chosen = report.categories.filter((category) => category.goal === goal);
  const queries = chosen.reduce((sum, category) => sum + category.queries, 0);
  return (
    chosen.reduce((sum, category) => sum + category.success * category.queries, 0) / Math.max(1, queries)
  );
}

export function peersChart(results: PeersResults): string {
  const width = 860;
  const left = 200;
  const barSpace = width - left - 150;
  const parts: string[] = [];
  let y = 18;
  parts.push(
    label(
      10,
      y,
      `certmatch vs peers: ${results.entities.toLocaleString('en')} entities, the same ${results.sample} labelled queries`,
      { bold: true },
    ),
  );
  y += 16;
  parts.push(
    label(
      10,
      y,
      `${results.machine.cpus} cores (${results.machine.cpuModel}), Node ${results.machine.node}, ${results.at.slice(0, 10)}; node --import tsx bench/peers.ts`,
      { size: 11 },
    ),
  );
  y += 26;
  parts.push(
    label(
      10,
      y,
      'Queries per second, log scale (peers: brute force over the country, 1 thread; certmatch: 2 threads)',
    ),
  );
  y += 8;
  const maxLog = Math.log10(Math.max(...results.systems.map((system) => system.queriesPerSecond)) * 2);
  results.systems.forEach((system, i) => {
    const bar = Math.max(2, (Math.log10(Math.max(1.5, system.queriesPerSecond)) / maxLog) * barSpace);
    parts.push(label(10, y + 15, system.name));
    parts.push(`<rect x="${left}" y="${y + 3}" width="${bar.toFixed(1)}" height="16" fill="${colors[i]}"/>`);
    parts.push(
      label(left + bar + 6, y + 15, `${Math.round(system.queriesPerSecond).toLocaleString('en')}/s`),
    );
    y += 24;
  });
  y += 22;
  parts.push(
    label(
      10,
      y,
      'Accuracy: share of queries meeting their category goal (94+ counts as exact for every system)',
    ),
  );
  y += 8;
  const groups: [string, (report: AccuracyReport) => number][] = [
    ['exact variants: exact, right entity', (report) => groupShare(report, 'exact, right entity')],
    ['typos, reorders, abbreviations: right first', (report) => groupShare(report, 'right entity first')],
    ['negatives: not exact', (report) => groupShare(report, 'not exact')],
    ['exact precision', (report) => report.exactPrecision],
  ];
  for (const [title, share] of groups) {
    parts.push(label(10, y + 14, title, { size: 11 }));
    results.systems.forEach((system, i) => {
      const value = share(system.accuracy);
      const bar = value * barSpace;
      parts.push(
        `<rect x="${left}" y="${y + 4 + i * 14}" width="${bar.toFixed(1)}" height="11" fill="${colors[i]}"/>`,
      );
      parts.push(
        label(left + bar + 6, y + 14 + i * 14, `${(value * 100).toFixed(1)}% ${system.name}`, { size: 11 }),
      );
    });
    y += results.systems.length * 14 + 14;
  }
  const title = `certmatch against fuzzball and Fuse.js: throughput and accuracy on ${results.entities.toLocaleString('en')} entities`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 6}" viewBox="0 0 ${width} ${y + 6}"><title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

/** Draws the chart from a peers.json and returns where it was written. */
export function writePeersChart(
  resultsPath = new URL('./results/peers.json', import.meta.url).pathname,
): string {
  const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as PeersResults;
  const chartPath = new URL('./peers-chart.svg', import.meta.url).pathname;
  writeFileSync(chartPath, peersChart(results));
  return chartPath;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(`chart written to ${writePeersChart()}`);
