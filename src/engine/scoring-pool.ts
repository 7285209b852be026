/**
 * The Piscina pool that scores candidates off the main thread.
 *
 * A Piscina round trip costs ~70 µs here, so queries are coalesced: `score()` queues a query and its
 * candidates, and the queue is flushed as one task when it holds `batchPairsTarget` pairs or when the event
 * loop turns, whichever comes first. Bulk callers fill whole tasks; a lone HTTP request waits at most one
 * turn of the event loop.
 *
 * A worker that dies mid-task is replaced by Piscina; its task is retried up to `retriesMax` times and then
 * every query in it fails with {@link ScoringFailedError}. No query is ever silently dropped.
 *
 * @internal
 */
import assert from 'node:assert/strict';
import { Piscina } from 'piscina';
import { workerLocation } from '../runtime/worker-location.js';
import type { NameStore } from './name-store.js';
import type { ScoringName } from './score.js';
import { scoreTask } from './score-batch.js';
import type { ScoringTask, ScoringTaskResult, ScoringWorkerData } from './scoring-protocol.js';

export interface ScoringPoolOptions {
  /** Worker threads; 0 scores on the calling thread (same code, no pool). */
  threads: number;
  /** Pairs per task before a flush; ≥ 1,000 amortizes the round trip. */
  batchPairsTarget: number;
  /** Retries of a task whose worker died before the task's queries fail. */
  retriesMax: number;
}

export const defaultScoringPoolOptions: ScoringPoolOptions = {
  threads: 2,
  batchPairsTarget: 1024,
  retriesMax: 1,
};

/** Scoring could not be completed even after retrying on a fresh worker. */
export class ScoringFailedError extends Error {
  readonly code = 'scoring_failed';
  constructor(cause: unknown) {
    super(
      `scoring failed after retrying on a fresh worker: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'ScoringFailedError';
  }
}

interface PendingQuery {
  query: ScoringName;
  records: readonly number[];
  resolve: (scores: Float64Array) => void;
  reject: (error: unknown) => void;
}

export class ScoringPool {
  readonly #names: NameStore;
  readonly #options: ScoringPoolOptions;
  readonly #piscina: Piscina | undefined;
  #pending: PendingQuery[] = [];
  #pendingPairs = 0;
  #flushScheduled = false;
  #tasksRetried = 0;

  constructor(names: NameStore, options: ScoringPoolOptions) {
    assert.ok(
      Number.isInteger(options.threads) && options.threads >= 0,
      'threads must be a non-negative integer',
    );
    assert.ok(options.batchPairsTarget >= 1, 'batchPairsTarget must be positive');
    this.#names = names;
    this.#options = options;
    if (options.threads > 0) {
      const { filename, execArgv } = workerLocation('scoring-worker', import.meta.url);
      const workerData: ScoringWorkerData = { names: names.buffers };
      this.#piscina = new Piscina({
        filename,
        execArgv,
        workerData,
        minThreads: options.threads,
        maxThreads: options.threads,
        idleTimeout: Number.POSITIVE_INFINITY,
      });
    }
  }

  /** Scores each candidate record against the query; resolves with one sort key per record, same order. */
  score(query: ScoringName, records: readonly number[]): Promise<Float64Array> {
    if (records.length === 0) return Promise.resolve(new Float64Array(0));
    return new Promise((resolve, reject) => {
      this.#pending.push({ query, records, resolve, reject });
      this.#pendingPairs += records.length;
      if (this.#pendingPairs >= this.#options.batchPairsTarget) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingPairs = 0;
    const candidateOffsets = new Int32Array(batch.length + 1);
    let pairs = 0;
    batch.forEach((item, q) => {
      pairs += item.records.length;
      candidateOffsets[q + 1] = pairs;
    });
    const candidateRecords = new Int32Array(pairs);
    batch.forEach((item, q) => {
      candidateRecords.set(item.records, candidateOffsets[q] as number);
    });
    const task: ScoringTask = {
      queries: batch.map((item) => item.query),
      candidateOffsets,
      candidateRecords,
    };
    this.#run(task, 0).then(
      (scores) => {
        for (let q = 0; q < batch.length; q++) {
          const start = candidateOffsets[q] as number;
          (batch[q] as PendingQuery).resolve(scores.subarray(start, candidateOffsets[q + 1] as number));
        }
      },
      (error: unknown) => {
        for (const item of batch) item.reject(error);
      },
    );
  }

  async #run(task: ScoringTask, attempt: number): Promise<ScoringTaskResult> {
    if (!this.#piscina) return scoreTask(this.#names, task);
    try {
      return (await this.#piscina.run(task)) as ScoringTaskResult;
    } catch (error) {
      if (attempt >= this.#options.retriesMax) throw new ScoringFailedError(error);
      this.#tasksRetried++;
      return this.#run(task, attempt + 1);
    }
  }

  /** Live figures for operators and benchmarks. */
  get stats(): { threads: number; queueSize: number; utilization: number; tasksRetried: number } {
    return {
      threads: this.#piscina?.threads.length ?? 0,
      queueSize: this.#piscina?.queueSize ?? 0,
      utilization: this.#piscina?.utilization ?? 0,
      tasksRetried: this.#tasksRetried,
    };
  }

  /** The pool's worker threads; exposed so tests can kill one mid-task. @internal */
  get workerThreads(): readonly { terminate(): Promise<number> }[] {
    return this.#piscina?.threads ?? [];
  }

  async close(): Promise<void> {
    this.#flush();
    await this.#piscina?.destroy();
  }
}
