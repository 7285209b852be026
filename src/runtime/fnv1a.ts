/**
 * 32-bit FNV-1a over a string's UTF-16 code units: the hash the engine's exact-key tables and the catalog's
 * document locations are keyed by. Both save these hashes in snapshot files, so the fingerprint of each file
 * covers this module too ({@link fnv1aModule}): a change here can never meet hashes made the old way.
 *
 * @internal
 */
import { fileURLToPath } from 'node:url';

export const fnv1aOffset = 0x811c9dc5;
export const fnv1aPrime = 0x01000193;

export function fnv1a(text: string): number {
  let hash = fnv1aOffset;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), fnv1aPrime);
  return hash >>> 0;
}

/** This module's file as it runs (TypeScript from source, JavaScript from dist/), for those fingerprints. */
export const fnv1aModule = fileURLToPath(import.meta.url);
