/**
 * Build worker: prepares chunks of entities (see `index-chunk.ts`) while the main thread links the
 * previous chunk into the index, so the two halves of a build run on both cores. A prepared chunk goes back
 * through the build's shared slots when it fits (see `chunk-slots.ts`).
 *
 * @internal
 */
import { workerData } from 'piscina';
import { type BuildTask, type BuildWorkerData, putInSlot, type SlottedChunk } from './chunk-slots.js';
import {
  type IndexChunkInput,
  type PreparedChunk,
  prepareIndexChunk,
  WordDictionary,
} from './index-chunk.js';
import { warmUpNormalizer } from './normalize.js';

warmUpNormalizer();

/** One per thread: a pool lives for one build, so a thread's dictionary does too. */
const dictionary = new WordDictionary();
const { slots } = workerData as BuildWorkerData;

export default function prepareChunk({
  input,
  slot,
}: BuildTask<IndexChunkInput>): PreparedChunk | SlottedChunk {
  const chunk = prepareIndexChunk(input, dictionary);
  return putInSlot(chunk, slots, slot) ?? chunk;
}
