/**
 * Build-time worker: normalizes a chunk of names while the main thread indexes the previous chunk.
 * Normalization is a third of a single-threaded build, and pure, so it moves off the main thread whole.
 *
 * @internal
 */
import { normalizeName, warmUpNormalizer } from './normalize.js';

export interface NormalizeTask {
  /** Names to normalize; anything that is not a non-empty string yields no tokens. */
  names: unknown[];
}

export interface NormalizeTaskResult {
  /** Each name's tokens joined by single spaces; '' for no tokens. */
  tokens: string[];
  legalForms: Uint16Array;
}

warmUpNormalizer();

export function normalizeNames(task: NormalizeTask): NormalizeTaskResult {
  const tokens: string[] = [];
  const legalForms = new Uint16Array(task.names.length);
  task.names.forEach((name, i) => {
    if (typeof name !== 'string' || name.trim() === '') {
      tokens.push('');
      return;
    }
    const normalized = normalizeName(name, true);
    tokens.push(normalized.tokens.join(' '));
    legalForms[i] = normalized.legalForm;
  });
  return { tokens, legalForms };
}

export default normalizeNames;
