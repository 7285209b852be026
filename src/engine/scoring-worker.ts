/**
 * The worker side of the scoring pool: attaches to the shared name store once, then scores tasks.
 * A default export, because tsx's ESM hooks are not active inside worker threads and Piscina needs one.
 *
 * @internal
 */
import { workerData } from 'piscina';
import { NameStore } from './name-store.js';
import { warmUpNormalizer } from './normalize.js';
import { scoreTask } from './score-batch.js';
import type { ScoringTask, ScoringTaskResult, ScoringWorkerData } from './scoring-protocol.js';

const names = new NameStore((workerData as ScoringWorkerData).names);
warmUpNormalizer();

export default function scoreInWorker(task: ScoringTask): ScoringTaskResult {
  return scoreTask(names, task);
}
