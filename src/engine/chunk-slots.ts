/**
 * How a prepared chunk crosses from a build worker to the linking thread: its typed arrays are copied into
 * one of a few shared slots made once per build, and only where each array lies crosses as a message.
 *
 * Why not return the arrays: a structured clone gives the receiver a fresh copy of each (some 20 per chunk,
 * ~0.4 KB per entity), and V8 answers that kind of allocation (external memory, outside its heap) with
 * garbage collections. Measured on a 1M-entity build from a file, 60 of the linking thread's 75 scavenges
 * were for "external memory pressure", and each of its ~20 major collections marked the whole heap; a
 * caller building from 1M entity objects of its own pays for marking those objects every time.
 *
 * A slot is reused by the chunk sent {@link buildSlotCount} chunks later, so a chunk's arrays must be linked
 * before then, and nothing may keep a view of them. A chunk larger than its slot crosses the old way.
 *
 * @internal
 */
import type { PreparedChunk } from './index-chunk.js';

/** Slots per build: one per chunk in flight. */
export const buildSlotCount = 8;
/**
 * Bytes per slot: a 1 MiB chunk of a registry file prepares to ~0.5 MiB (0.4 KB per entity at ~0.5 KB per
 * line); 1,024 entities with ordinary names, to ~0.4 MiB.
 */
export const buildSlotBytes = 4 << 20;

/** Given to each build worker once, as Piscina `workerData`. */
export interface BuildWorkerData {
  slots: SharedArrayBuffer[];
}

/** What a build task sends: the chunk to prepare, and the slot its result goes to. */
export interface BuildTask<Input> {
  input: Input;
  slot: number;
}

/** A prepared chunk whose typed arrays wait in a slot: everything else, and where each array lies. */
export interface SlottedChunk
  extends Pick<PreparedChunk, 'problems' | 'dictionary' | 'newWords' | 'firstNewWord'> {
  slot: number;
  /** Byte offset and element count of each array, in {@link arraysOf} order. */
  extents: number[];
}

/** How a typed array is made on part of a buffer. */
type ViewConstructor<T> = new (buffer: ArrayBufferLike, at: number, length: number) => T;

/** Typed-array fields of a prepared chunk, each with its constructor. */
const arrayFields = {
  items: Int32Array,
  countries: Uint16Array,
  ceIdHashes: Uint32Array,
  recordsEnd: Uint32Array,
  identifiersEnd: Uint32Array,
  legalForms: Uint16Array,
  wholeNameHashes: Uint32Array,
  orderFreeNameHashes: Uint32Array,
  tokensEnd: Uint32Array,
  recordWords: Uint32Array,
  identifierHashes: Uint32Array,
} satisfies { [Field in keyof PreparedChunk]?: ViewConstructor<PreparedChunk[Field]> };

/** Packed-string fields of a prepared chunk: bytes and offsets each. */
const packedFields = [
  'ceIds',
  'displayNames',
  'texts',
  'wholeNames',
  'orderFreeNames',
  'identifiers',
] as const;

type ArrayField = keyof typeof arrayFields;
type ChunkArray = PreparedChunk[ArrayField] | Uint8Array;

/** A chunk's typed arrays in the order {@link takeFromSlot} reads them back. */
function arraysOf(chunk: PreparedChunk): ChunkArray[] {
  const arrays: ChunkArray[] = (Object.keys(arrayFields) as ArrayField[]).map((field) => chunk[field]);
  for (const field of packedFields) arrays.push(chunk[field].bytes, chunk[field].offsets);
  return arrays;
}

/** Every array starts at a multiple of the largest element size, so a view can be made on it. */
const alignment = 4;

/**
 * Copies a prepared chunk's arrays into slot `slot` (worker side); undefined when they do not fit, and the
 * chunk should be sent as it is.
 */
export function putInSlot(
  chunk: PreparedChunk,
  slots: readonly SharedArrayBuffer[],
  slot: number,
): SlottedChunk | undefined {
  const buffer = slots[slot] as SharedArrayBuffer;
  const arrays = arraysOf(chunk);
  const extents: number[] = [];
  let end = 0;
  for (const array of arrays) {
    const at = Math.ceil(end / alignment) * alignment;
    extents.push(at, array.length);
    end = at + array.byteLength;
  }
  if (end > buffer.byteLength) return undefined;
  const target = new Uint8Array(buffer);
  arrays.forEach((array, i) => {
    target.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), extents[2 * i] as number);
  });
  const { problems, dictionary, newWords, firstNewWord } = chunk;
  return { slot, extents, problems, dictionary, newWords, firstNewWord };
}

/** The prepared chunk a worker put in a slot (linking side): views on the slot, valid until it is reused. */
export function takeFromSlot(slotted: SlottedChunk, slots: readonly SharedArrayBuffer[]): PreparedChunk {
  const buffer = slots[slotted.slot] as SharedArrayBuffer;
  const { extents, problems, dictionary, newWords, firstNewWord } = slotted;
  let next = 0;
  const view = <T>(Type: ViewConstructor<T>): T => {
    const array = new Type(buffer, extents[next] as number, extents[next + 1] as number);
    next += 2;
    return array;
  };
  const chunk: Record<string, unknown> = { problems, dictionary, newWords, firstNewWord };
  for (const [field, Type] of Object.entries(arrayFields))
    chunk[field] = view(Type as ViewConstructor<ChunkArray>);
  for (const field of packedFields) chunk[field] = { bytes: view(Uint8Array), offsets: view(Uint32Array) };
  return chunk as unknown as PreparedChunk;
}

/** Whether a build worker's answer waits in a slot. */
export function isSlotted(result: PreparedChunk | SlottedChunk): result is SlottedChunk {
  return 'extents' in result;
}
