/**
 * Vitest global setup: every temporary file of a test run (databases, entity files, snapshots, a CLI child's
 * files) goes under one directory, removed when the run ends. Tests create their own directories with
 * `mkdtempSync(join(tmpdir(), ...))`; `os.tmpdir()` follows TMPDIR, which the test processes and the CLI
 * processes they start inherit. Without it, each run left ~100 MB behind in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'certmatch-test-run-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
