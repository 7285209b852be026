/**
 * Typed arrays and buffers on SharedArrayBuffers, for the tables an index build grows on the indexing
 * thread.
 *
 * Why: V8 counts ordinary ArrayBuffer memory as external memory, and starts a major garbage collection for
 * every ~64 MB of it allocated since the last one. A 1M-entity build grows its tables (by doubling) to some
 * 400 MB, so it ran 8 major collections (building from records), each marking everything on the heap: with a caller's 1M entity
 * objects there, V8's marking threads used more CPU than the two build workers. Memory on a
 * SharedArrayBuffer is not counted that way (measured: 512 MB allocated beside a large heap set off 9 major
 * collections as ArrayBuffers, none as SharedArrayBuffers); it is still freed when unreachable.
 *
 * Nothing here is sent to another thread, so sharing never happens; it is only the accounting that differs.
 *
 * @internal
 */

export function sharedBytes(length: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(length));
}

export function sharedUint32Array(length: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(length * Uint32Array.BYTES_PER_ELEMENT));
}

export function sharedInt32Array(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
}

export function sharedUint16Array(length: number): Uint16Array {
  return new Uint16Array(new SharedArrayBuffer(length * Uint16Array.BYTES_PER_ELEMENT));
}
