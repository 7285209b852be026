/**
 * The order an import transaction writes its certificates' placements in.
 *
 * @internal
 */
import { endianness } from 'node:os';

/** Where a certificate covering one entity sits in that entity's document. */
export interface Placement {
  certId: string;
  entityId: number;
  start: number;
  length: number;
}

/**
 * Placements ordered by the five characters after their cert_id's `cert_` (one of 62^5 prefixes, so nearly
 * the order of the whole ids among a transaction's ~300k), then by file order: a certificate moved between
 * entities within a transaction is placed by the later line. Each key packs the prefix and the index into
 * 64 bits, so the sort is a typed array's native numeric sort: a comparator sort of 300k strings takes ~0.5 s,
 * for each of a 1M-entity import's ten transactions (measured: the import ~10% faster without it).
 */
export function inInsertionOrder(placements: Placement[]): Placement[] {
  if (placements.length >= 1 << 25) throw new RangeError('too many certificates in one transaction');
  const keys = new BigUint64Array(placements.length);
  // Each key as two 32-bit words, in the machine's byte order.
  const words = new Uint32Array(keys.buffer);
  const low = endianness() === 'LE' ? 0 : 1;
  const code = (id: string, at: number) => id.charCodeAt(at) & 0x7f;
  placements.forEach(({ certId }, i) => {
    words[2 * i + 1 - low] =
      ((code(certId, 5) << 21) | (code(certId, 6) << 14) | (code(certId, 7) << 7) | code(certId, 8)) >>> 0;
    words[2 * i + low] = ((code(certId, 9) << 25) | i) >>> 0;
  });
  keys.sort();
  return Array.from(
    { length: placements.length },
    (_, i) => placements[(words[2 * i + low] as number) & 0x1ffffff] as Placement,
  );
}
