import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certifiedEntityIdPattern, isCertifiedEntityId } from '../../src/engine/entity-record.js';

describe('recognising a ce_id', () => {
  it('accepts exactly what the ce_id pattern accepts (property)', () => {
    const near = fc
      .tuple(
        fc.constantFrom('ce_', 'ce-', 'CE_', 'ce_', 'c_'),
        fc.string({ unit: fc.constantFrom(...'aZ09_-é Yq'.split('')), minLength: 22, maxLength: 26 }),
      )
      .map(([prefix, rest]) => prefix + rest);
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 30 })), (text) => {
        expect(isCertifiedEntityId(text)).toBe(certifiedEntityIdPattern.test(text));
      }),
      { numRuns: 5_000 },
    );
    expect(isCertifiedEntityId('ce_0123456789abcdefghijKLMN')).toBe(true);
    expect(isCertifiedEntityId('ce_0123456789abcdefghijKLM!')).toBe(false);
  });
});
