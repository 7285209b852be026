/**
 * Scores one task's worth of (query, candidate record) pairs. The worker runs this; so does the main thread
 * when asked to score inline, which is how the tests prove both give identical scores.
 *
 * @internal
 */
import type { NameStore } from './name-store.js';
import { scoreNormalized } from './score.js';
import type { ScoringTask, ScoringTaskResult } from './scoring-protocol.js';

export function scoreTask(names: NameStore, task: ScoringTask): ScoringTaskResult {
  const scores = new Float64Array(task.candidateRecords.length);
  for (let q = 0; q < task.queries.length; q++) {
    const query = task.queries[q];
    if (!query) continue;
    const end = task.candidateOffsets[q + 1] as number;
    for (let c = task.candidateOffsets[q] as number; c < end; c++) {
      scores[c] = scoreNormalized(query, names.scoringName(task.candidateRecords[c] as number));
    }
  }
  return scores;
}
