/**
 * Bytes allocated per POST /company, and by which functions: the young-generation garbage that makes the
 * server's scavenges (each pauses the event loop). In-process through `buildApp` and `inject`, scoring on
 * the main thread, so the figure includes what the scoring workers allocate in a real server.
 *
 * Run: node --import tsx bench/allocations.ts [--entities 20000] [--requests 6000]
 */
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { serviceFixture } from '../test/support/service-fixture.js';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '6000' },
  },
});
const requests = Number(values.requests);
const fixture = await serviceFixture({ count: Number(values.entities) });
const buyer = await fixture.account('basic', 1_000_000);
// Two thirds exact names, one third unknown companies (the retrieval's typo tier runs for those).
const bodies = fixture.entities.slice(0, 5000).map((entity, i) =>
  JSON.stringify({
    company_name: i % 3 === 2 ? `Unknown Zebra ${i} Ltd` : entity.certified_entity_name,
    company_country: entity.country,
  }),
);
const send = (i: number) =>
  fixture.app.inject({
    method: 'POST',
    url: '/company',
    headers: { ...buyer.headers, 'content-type': 'application/json' },
    payload: bodies[i % bodies.length],
  });
const run = async (count: number) => {
  for (let i = 0; i < count; i += 32) await Promise.all(Array.from({ length: 32 }, (_, k) => send(i + k)));
};

await run(2_000); // warm-up: JIT, caches, grace-period rows
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 8192,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await run(requests);
const { profile } = await session.post('HeapProfiler.stopSampling');

const bytesByFunction = new Map<string, number>();
let total = 0;
const walk = (node: typeof profile.head) => {
  const frame = node.callFrame;
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}`;
  total += node.selfSize;
  bytesByFunction.set(name, (bytesByFunction.get(name) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
};
walk(profile.head);
console.log(`\nAllocated per POST /company: ${(total / requests / 1024).toFixed(1)} KB`);
console.log('Where (KB per request, allocating function):');
for (const [name, bytes] of [...bytesByFunction].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`  ${(bytes / requests / 1024).toFixed(1).padStart(6)}  ${name}`);
}
session.disconnect();
await fixture.close();
