/**
 * Loads the index the way a service starts, in a process of its own, and reports what it costs: seconds to
 * ready and resident memory with the worker pool running.
 * - `engine-load.ts FILE`: from an entity file (JSON parsing included); then saves the index snapshot
 *   beside it (FILE.index) and reports how long that took.
 * - `engine-load.ts --snapshot FILE.index`: from that snapshot, as a restart does.
 * - `engine-load.ts --no-save FILE`: from the entity file, without saving the snapshot (a repeated build).
 * Times the build (dist/; it refuses a stale one: run `npm run build` first).
 * Run by bench/engine.ts; standalone: node --expose-gc --max-semi-space-size=64 --import tsx bench/engine-load.ts FILE
 */
import type * as Engine from '../src/engine/index.js';
import { importBuilt } from './built.js';

// The build, as a service runs it: from source, each build worker would first spend ~0.7 s compiling.
const { createMatcher, loadMatcherSnapshot } = await importBuilt<typeof Engine>('engine/index.js');

const fromSnapshot = process.argv[2] === '--snapshot';
// A repeated build need not save the snapshot again.
const savesSnapshot = !fromSnapshot && process.argv[2] !== '--no-save';
const file = process.argv[savesSnapshot ? 2 : 3];
if (!file) throw new Error('usage: engine-load.ts [--no-save] ENTITIES.ndjson | --snapshot FILE.index');
const snapshotTag = 'bench';
const started = performance.now();
const matcher: Engine.Matcher = fromSnapshot
  ? loadMatcherSnapshot(file, snapshotTag, { threads: 2 })
  : await createMatcher({ file }, { threads: 2 });
const loadSeconds = (performance.now() - started) / 1000;
// Touch both workers so their heaps are counted.
await matcher.matchCompanies(
  Array.from({ length: 200 }, () => ({ company_name: 'Warm Up Ltd', company_country: 'GB' })),
);
(globalThis as { gc?: () => void }).gc?.();
const rssMiB = process.memoryUsage().rss / 2 ** 20;
let saveSeconds: number | undefined;
if (savesSnapshot) {
  const saving = performance.now();
  matcher.saveSnapshot(`${file}.index`, snapshotTag);
  saveSeconds = (performance.now() - saving) / 1000;
}
process.stdout.write(
  `${JSON.stringify({ entities: matcher.entityCount, loadSeconds, rssMiB, saveSeconds })}\n`,
);
await matcher.close();
