/**
 * The engine's built index saved as a snapshot file (see runtime/snapshot-file.ts), so that a service
 * restarts in seconds instead of rebuilding: at 1M entities the build takes ~10 s of CPU on every core, while
 * the snapshot is mostly typed arrays that load as byte copies. Its fingerprint hashes the engine's own
 * modules and the reference tables, so a change to normalization can never meet an index normalized the old
 * way.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fnv1aModule } from '../runtime/fnv1a.js';
import type { ExpectedSnapshot } from '../runtime/snapshot-file.js';

export {
  SnapshotFileError,
  SnapshotReader,
  SnapshotWriter,
} from '../runtime/snapshot-file.js';

/** Bumped when any section's layout changes. */
const snapshotFormat = 2;

let engineFingerprintMemo: string | undefined;

/**
 * A hash of the code and tables that decide what the index holds: every module of the engine as it runs
 * (TypeScript from source, JavaScript from dist/), the key hash it stores (runtime/fnv1a) and every
 * reference table.
 */
export function engineFingerprint(): string {
  if (engineFingerprintMemo !== undefined) return engineFingerprintMemo;
  const hash = createHash('sha256').update(`format ${snapshotFormat}\n`);
  hash.update('fnv1a\n').update(readFileSync(fnv1aModule));
  const engineDirectory = dirname(fileURLToPath(import.meta.url));
  const referenceDirectory = fileURLToPath(new URL('../../data/reference/', import.meta.url));
  for (const directory of [engineDirectory, referenceDirectory]) {
    for (const name of readdirSync(directory).sort()) {
      if (!/\.(ts|js|json)$/.test(name) || name.endsWith('.d.ts')) continue;
      hash.update(`${name}\n`).update(readFileSync(join(directory, name)));
    }
  }
  engineFingerprintMemo = hash.digest('hex');
  return engineFingerprintMemo;
}

/** What an index snapshot of the given source must be. */
export function indexSnapshot(tag: string): ExpectedSnapshot {
  return { kind: 'index snapshot', fingerprint: engineFingerprint(), tag };
}
