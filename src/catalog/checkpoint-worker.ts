/**
 * Copies an import's committed WAL frames into the catalog file from a thread of its own, so the writer does
 * not stop to do it: with SQLite's automatic checkpoint, every commit of an import waited on the copy and its
 * fsync. A passive checkpoint never blocks the writer and never waits for it; the writer starts the WAL over
 * once a checkpoint has caught up.
 *
 * A Piscina task rather than a bare Worker, because Piscina loads its module after the worker's `--import`
 * hooks are in place, so the same file runs from source (under tsx) and from the build.
 *
 * @internal
 */
import Database from 'better-sqlite3';

export interface CheckpointTask {
  path: string;
  /** One Int32: the writer stores 1 and notifies to end the task. */
  stop: SharedArrayBuffer;
}

/** How long to wait between checkpoints: about the time an import takes to commit a transaction. */
const pauseMs = 100;

export default function checkpointUntilStopped({ path, stop }: CheckpointTask): void {
  const stopped = new Int32Array(stop);
  const database = new Database(path);
  try {
    database.pragma('synchronous = NORMAL');
    while (Atomics.load(stopped, 0) === 0) {
      database.pragma('wal_checkpoint(PASSIVE)');
      Atomics.wait(stopped, 0, 0, pauseMs);
    }
  } finally {
    database.close();
  }
}
