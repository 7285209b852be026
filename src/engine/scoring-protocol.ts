/**
 * The messages that cross the thread boundary between the scoring pool and its workers.
 * Names never cross it: workers read them from the shared {@link NameStoreBuffers} by record id.
 *
 * @internal
 */
import type { NameStoreBuffers } from './name-store.js';
import type { ScoringName } from './score.js';

/** Given to every worker once, as Piscina `workerData`. */
export interface ScoringWorkerData {
  names: NameStoreBuffers;
}

/** One task: several queries, each with its candidate records. */
export interface ScoringTask {
  queries: ScoringName[];
  /** candidateOffsets[q] .. candidateOffsets[q+1] index into `candidateRecords` for query q. */
  candidateOffsets: Int32Array;
  candidateRecords: Int32Array;
}

/** One sort key per entry of `candidateRecords`, in the same order; its integer part is the 0–100 score. */
export type ScoringTaskResult = Float64Array;
