/**
 * Build worker: prepares chunks of entities (see `index-chunk.ts`) while the main thread links the
 * previous chunk into the index, so the two halves of a build run on both cores.
 *
 * @internal
 */
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

export default function prepareChunk(input: IndexChunkInput): PreparedChunk {
  return prepareIndexChunk(input, dictionary);
}
