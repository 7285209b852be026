/**
 * Loads an entity file the way a service starts, in a process of its own, and reports what it costs:
 * seconds from file to ready (JSON parsing included), and resident memory with the worker pool running.
 * Run by bench/engine.ts; standalone: node --expose-gc --max-semi-space-size=64 --import tsx bench/engine-load.ts FILE
 */
import { createMatcher } from '../src/engine/index.js';

const file = process.argv[2];
if (!file) throw new Error('usage: engine-load.ts ENTITIES.ndjson');
const started = performance.now();
const matcher = await createMatcher({ file }, { threads: 2 });
const loadSeconds = (performance.now() - started) / 1000;
// Touch both workers so their heaps are counted.
await matcher.matchCompanies(
  Array.from({ length: 200 }, () => ({ company_name: 'Warm Up Ltd', company_country: 'GB' })),
);
(globalThis as { gc?: () => void }).gc?.();
const rssMiB = process.memoryUsage().rss / 2 ** 20;
process.stdout.write(`${JSON.stringify({ entities: matcher.entityCount, loadSeconds, rssMiB })}\n`);
await matcher.close();
