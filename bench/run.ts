/**
 * Every benchmark scenario, one fresh process each, then a Markdown report of every figure next to its
 * target (bench/results/report.md) and the peers chart (bench/peers-chart.svg).
 *
 * Run: npm run bench            (registry scale: 1M entities where the issues set targets; ~30 minutes,
 *                               longer the first time, when the 1M registry and catalog are generated)
 *      npm run bench -- --quick (small sizes, about a minute: checks every scenario runs, not the targets)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Figure, machine } from './report.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;

interface Scenario {
  name: string;
  script: string;
  args: string[];
  /** What the scenario covers, for the report. */
  about: string;
}

const scenarios: Scenario[] = [
  {
    name: 'kernels',
    script: 'kernels.ts',
    args: quick ? ['--time', '200'] : [],
    about: 'scoring kernels (tinybench)',
  },
  {
    name: 'engine',
    script: 'engine.ts',
    args: quick
      ? ['--sizes', '20000', '--queries', '2000', '--latency-queries', '300', '--recall-queries', '300']
      : ['--sizes', '100000,1000000', '--queries', '20000'],
    about:
      'index build, in-process queries/s with 1 and 2 threads, single-query latency, recall, accuracy by category',
  },
  {
    name: 'http',
    script: 'http.ts',
    args: quick ? ['--entities', '20000', '--seconds', '3'] : ['--entities', '1000000', '--seconds', '30'],
    about: 'HTTP load (autocannon) on POST /company and /match-companies against a real port',
  },
  {
    name: 'ledger',
    script: 'ledger.ts',
    args: quick ? ['--charges', '20000', '--rounds', '1', '--idle', '300'] : ['--charges', '200000'],
    about: 'durable charges/s through the single writer, idle commit latency',
  },
  {
    name: 'catalog',
    script: 'catalog.ts',
    args: quick ? ['--entities', '5000', '--lookups', '20000'] : ['--entities', '100000'],
    about: 'catalog import and lookups by id',
  },
  {
    name: 'bulk',
    script: 'bulk.ts',
    args: quick ? ['--entities', '20000', '--rows', '20000'] : ['--entities', '100000', '--rows', '1000000'],
    about: 'bulk CLI rows/s and memory over a CSV',
  },
  {
    name: 'peers',
    script: 'peers.ts',
    args: quick
      ? ['--entities', '20000', '--queries', '1000', '--sample', '100']
      : ['--entities', '100000', '--queries', '4000', '--sample', '400'],
    about: 'accuracy by category and throughput against fuzzball and Fuse.js',
  },
];

const root = new URL('..', import.meta.url).pathname;
console.log('Building (the HTTP and bulk scenarios run the built CLI)...');
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const timings: Record<string, number> = {};
const failures: string[] = [];
for (const scenario of scenarios) {
  console.log(`\n=== ${scenario.name}: ${scenario.about}`);
  const started = performance.now();
  try {
    execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--max-semi-space-size=64',
        '--max-old-space-size=8192',
        '--import',
        'tsx',
        new URL(scenario.script, import.meta.url).pathname,
        ...scenario.args,
      ],
      { cwd: root, stdio: 'inherit' },
    );
  } catch {
    failures.push(scenario.name);
  }
  timings[scenario.name] = (performance.now() - started) / 1000;
}

// The report: every figure each scenario wrote, with its target.
const cell = (figure: Figure) => {
  const value = Number.isInteger(figure.value)
    ? figure.value.toLocaleString('en')
    : figure.value.toFixed(figure.value < 10 ? 3 : 1);
  return `| ${figure.name} | ${value} ${figure.unit} | ${figure.target ?? ''} | ${figure.target ? (figure.meets ? 'meets' : '**misses**') : ''} |`;
};
const lines = [
  `# certmatch benchmark report${quick ? ' (quick: small sizes, targets not meaningful)' : ''}`,
  '',
  `Run ${new Date().toISOString()} with \`npm run bench${quick ? ' -- --quick' : ''}\` on ${JSON.stringify(machine())}.`,
  '',
];
for (const scenario of scenarios) {
  const file = new URL(`./results/${scenario.name}.json`, import.meta.url);
  lines.push(
    `## ${scenario.name}: ${scenario.about}`,
    '',
    `\`${scenario.script} ${scenario.args.join(' ')}\` (${timings[scenario.name]?.toFixed(0)} s)`,
    '',
  );
  if (failures.includes(scenario.name) || !existsSync(file)) {
    lines.push('**failed**: see the console output.', '');
    continue;
  }
  const result = JSON.parse(readFileSync(file, 'utf8')) as {
    figures?: Figure[];
    results?: { size: number; figures: Figure[] }[];
  };
  const groups = result.results
    ? result.results.map((r) => ({ title: `${r.size.toLocaleString('en')} entities`, figures: r.figures }))
    : [{ title: '', figures: result.figures ?? [] }];
  for (const group of groups) {
    if (group.title) lines.push(`### ${group.title}`, '');
    lines.push(
      '| figure | measured | target | |',
      '| --- | --- | --- | --- |',
      ...group.figures.map(cell),
      '',
    );
  }
}
lines.push('![certmatch against fuzzball and Fuse.js](../peers-chart.svg)', '');
const reportPath = new URL('./results/report.md', import.meta.url).pathname;
writeFileSync(reportPath, `${lines.join('\n')}\n`);
console.log(
  `\nReport written to ${reportPath}${failures.length > 0 ? `; FAILED: ${failures.join(', ')}` : ''}`,
);
process.exitCode = failures.length > 0 ? 1 : 0;
