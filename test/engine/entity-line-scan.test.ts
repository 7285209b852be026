import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registryEntities } from '../../src/data/generate-registry.js';
import { scanIndexedFields } from '../../src/engine/entity-line-scan.js';
import {
  type IndexedFields,
  indexedFieldsOf,
  type PreparedChunk,
  parseEntityLine,
  prepareIndexChunk,
  WordDictionary,
} from '../../src/engine/index-chunk.js';
import { entityText } from '../support/entity-arbitraries.js';

/** What the parsing path reads of a line: its fields, or why it cannot be indexed. */
function parsed(line: string): ReturnType<typeof indexedFieldsOf> {
  try {
    return indexedFieldsOf(parseEntityLine(line));
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
}

/** A prepared chunk without the id of the dictionary that made it, which differs from one to the next. */
function prepared(input: Parameters<typeof prepareIndexChunk>[0]): Omit<PreparedChunk, 'dictionary'> {
  const { dictionary: _, ...chunk } = prepareIndexChunk(input, new WordDictionary());
  return chunk;
}

/** What the scan reads of a line, decoded as the parsing path would read it; `undefined` when it cannot. */
function scanned(line: string): IndexedFields | undefined {
  const bytes = Buffer.from(line, 'utf8');
  return scanIndexedFields(bytes, 0, bytes.length)?.toIndexedFields();
}

describe('reading an entity line’s indexed fields without parsing it', () => {
  it('reads every line of a generated registry, as parsing it would', () => {
    const entities = [...registryEntities({ count: 400, seed: 'line-scan' })];
    for (const entity of entities) {
      const line = JSON.stringify(entity);
      const fields = scanned(line);
      expect(fields, entity.ce_id).toBeDefined();
      expect(fields).toEqual(parsed(line));
    }
  });

  it('reads a line without addresses or certificates, which ends after the identifiers', () => {
    const line = JSON.stringify({
      ce_id: 'ce_dRX42uvEP0DwZ9f7PyWuRgah',
      certified_entity_name: 'Müller Gas GmbH',
      certified_entity_english_name: null,
      certified_entity_trading_name: 'Müller',
      country: 'DE',
      company_identifiers: { vat: 'DE 123.456.789', duns_number: '' },
    });
    expect(scanned(line)).toEqual([
      'ce_dRX42uvEP0DwZ9f7PyWuRgah',
      'Müller Gas GmbH',
      null,
      'Müller',
      expect.any(Number),
      'DE 123.456.789',
      null,
      null,
      null,
      null,
    ]);
    expect(scanned(line)).toEqual(parsed(line));
  });

  it('leaves to the parser what it cannot read exactly: escapes, other layouts, invalid fields', () => {
    const base = {
      ce_id: 'ce_dRX42uvEP0DwZ9f7PyWuRgah',
      certified_entity_name: 'Tanbro Gas S.A.',
      certified_entity_english_name: null,
      certified_entity_trading_name: null,
      country: 'AR',
      company_identifiers: { duns_number: '473749794' },
      certified_entity_addresses: [],
    };
    const line = (changes: object) => JSON.stringify({ ...base, ...changes });
    const { country: _, ...withoutCountry } = base;
    expect(scanned(line({}))).toBeDefined();
    for (const other of [
      line({ certified_entity_name: 'A "quoted" name' }),
      line({ certified_entity_name: 'Tab\there' }),
      line({ certified_entity_name: '  ' }),
      line({ ce_id: 'ce_short' }),
      line({ country: 'Atlantis' }),
      line({ company_identifiers: null }),
      line({ company_identifiers: { vat: 12345 } }),
      line({ certified_entity_english_name: 7 }),
      // The country first: another order.
      JSON.stringify({ country: base.country, ...withoutCountry }),
      JSON.stringify(base, null, 1).replaceAll('\n', ''),
      line({}).slice(0, 60),
      `${JSON.stringify({ ...base, certified_entity_addresses: undefined }).slice(0, -1)},"updated_at":1}`,
    ])
      expect(scanned(other), other).toBeUndefined();
  });

  it('reads lines JSON.stringify would not write as parsing would, or leaves them to the parser', () => {
    const head = '{"ce_id":"ce_dRX42uvEP0DwZ9f7PyWuRgah","certified_entity_name":"Tanbro Gas S.A."';
    const rest = ',"certified_entity_english_name":null,"certified_entity_trading_name":null,"country":"AR"';
    for (const line of [
      // A raw tab, which JSON does not allow in a string.
      `${head.replace('Gas', 'G\tas')}${rest},"company_identifiers":{}}`,
      // A key given twice: the parser keeps the last, here an empty value.
      `${head}${rest},"company_identifiers":{"vat":"AR20123456789","vat":""}}`,
      `${head}${rest},"company_identifiers":{"vat":"","vat":"AR20123456789"}}`,
      `${head}${rest},"company_identifiers":{"vat":"AR20123456789"}}x`,
      `${head}${rest},"company_identifiers":{"vat":"AR20123456789"}`,
    ]) {
      const fields = scanned(line);
      if (fields !== undefined) expect(fields, line).toEqual(parsed(line));
    }
  });

  it('answers as parsing would for any line laid out as JSON.stringify writes an entity (property)', () => {
    // Mostly values the scan reads, so that most lines are read; now and then one it must leave to the parser.
    const usually = <T, U>(value: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
      fc.oneof({ arbitrary: value, weight: 9 }, { arbitrary: other, weight: 1 });
    const text = entityText;
    const entity = fc.record({
      ce_id: usually(
        fc.constant('ce_dRX42uvEP0DwZ9f7PyWuRgah'),
        fc.oneof(fc.constantFrom('ce_dRX42uvEP0DwZ9f7PyWuRga', 'ce_dRX42uvEP0DwZ9f7PyWuRga!'), text),
      ),
      certified_entity_name: usually(text, fc.constant(null)),
      certified_entity_english_name: usually(fc.oneof(text, fc.constant(null)), fc.boolean()),
      certified_entity_trading_name: usually(fc.oneof(text, fc.constant(null)), fc.integer()),
      country: usually(fc.constantFrom('AR', 'DE', 'Germany', 'GRC', 'é'), fc.oneof(fc.constant('XX'), text)),
      company_identifiers: usually(
        fc.dictionary(
          fc.constantFrom(
            'vat',
            'tax_id',
            'duns_number',
            'business_registration_number',
            'company_id',
            'other',
          ),
          usually(
            fc.oneof(
              text,
              fc.constantFrom('DE 123.456.789', 'atu12345678', 'GRC 12345', '123456789 MWST', 'x', 'Ünal-42'),
              fc.constant(null),
            ),
            fc.integer(),
          ),
          { maxKeys: 4 },
        ),
        fc.constant(null),
      ),
    });
    const tail = fc.constantFrom(
      '}',
      ',"certified_entity_addresses":[{"city":"Neuquén"}]}',
      ',"certificates":[{"cert_id":"x"}]}',
      ',"certificates":[{"cert_id":"x"}],"certified_entity_addresses":[]}',
      ',"certificates":[ broken ],"certified_entity_addresses":[]}',
      ',"updated_at":1}',
      '} ',
    );
    let read = 0;
    fc.assert(
      fc.property(entity, tail, (record, end) => {
        const line = `${JSON.stringify(record).slice(0, -1)}${end}`;
        const fields = scanned(line);
        if (fields === undefined) return;
        read++;
        expect(fields).toEqual(parsed(line));
        // And the chunk written from what the scan read (ce_id, display name and identifiers copied or
        // normalized as bytes) is the one written from the parsed line.
        expect(prepared({ bytes: Buffer.from(line, 'utf8') })).toEqual(prepared({ lines: [line] }));
      }),
      { numRuns: 2000 },
    );
    // Not a property of nothing: a fair share of the lines are read, the rest left to the parser.
    expect(read).toBeGreaterThan(100);
  });
});
