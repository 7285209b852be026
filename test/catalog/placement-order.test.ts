import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inInsertionOrder, type Placement } from '../../src/catalog/placement-order.js';

/** cert_ids from a small alphabet, so that a run holds repeated ids and ids sharing long prefixes. */
const certId = fc
  .array(fc.constantFrom('a', 'b', 'Z', '0', '9'), { minLength: 24, maxLength: 24 })
  .map((chars) => `cert_${chars.join('')}`);

describe('the order an import writes certificate placements in', () => {
  it('is ordered by the cert_id after its prefix, keeps file order among equal ids, and loses none', () => {
    fc.assert(
      fc.property(fc.array(certId, { maxLength: 300 }), (ids) => {
        const placements: Placement[] = ids.map((id, i) => ({
          certId: id,
          entityId: i + 1,
          start: i,
          length: 1,
        }));
        const ordered = inInsertionOrder(placements);
        expect([...ordered].sort((a, b) => a.start - b.start)).toEqual(placements);
        const lastStart = new Map<string, number>();
        for (let i = 0; i < ordered.length; i++) {
          const placement = ordered[i] as Placement;
          if (i > 0)
            expect((ordered[i - 1] as Placement).certId.slice(5, 10) <= placement.certId.slice(5, 10)).toBe(
              true,
            );
          // The later line of the file is written later, and wins, when one certificate is placed twice.
          expect(placement.start).toBeGreaterThan(lastStart.get(placement.certId) ?? -1);
          lastStart.set(placement.certId, placement.start);
        }
      }),
    );
  });
});
