import { describe, expect, it } from 'vitest';
import { registryEntities } from '../../src/data/generate-registry.js';
import { buildSlotBytes, isSlotted, putInSlot, takeFromSlot } from '../../src/engine/chunk-slots.js';
import { indexedFieldsOf, prepareIndexChunk, WordDictionary } from '../../src/engine/index-chunk.js';

function preparedChunk(count: number, seed: string) {
  const entities = [...registryEntities({ count, seed, certificates: false })].map(indexedFieldsOf);
  // A bad entity too, so that the chunk has a problem to carry.
  entities.push('certified_entity_name is required');
  return prepareIndexChunk({ entities }, new WordDictionary());
}

describe('a prepared chunk sent through a shared slot', () => {
  it('comes out equal to the chunk put in, every array and field', () => {
    const chunk = preparedChunk(1_024, 'slots');
    const slots = [new SharedArrayBuffer(64), new SharedArrayBuffer(buildSlotBytes)];
    const slotted = putInSlot(chunk, slots, 1);
    expect(slotted).toBeDefined();
    if (slotted === undefined) return;
    expect(isSlotted(slotted)).toBe(true);
    expect(isSlotted(chunk)).toBe(false);
    // A message carries no array: what crosses threads is the few fields and the extents.
    expect(Object.values(slotted).some((value) => ArrayBuffer.isView(value))).toBe(false);
    expect(takeFromSlot(structuredClone(slotted), slots)).toEqual(chunk);
  });

  it('is refused by a slot too small for it, so that the chunk is sent as it is', () => {
    const chunk = preparedChunk(200, 'small-slot');
    expect(putInSlot(chunk, [new SharedArrayBuffer(1_024)], 0)).toBeUndefined();
  });

  it('comes out right for an empty chunk', () => {
    const chunk = prepareIndexChunk({ entities: [] }, new WordDictionary());
    const slots = [new SharedArrayBuffer(1_024)];
    const slotted = putInSlot(chunk, slots, 0);
    expect(slotted && takeFromSlot(slotted, slots)).toEqual(chunk);
  });
});
