import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registryEntities } from '../../src/data/generate-registry.js';
import { type CountryIndex, resolveCountry } from '../../src/engine/countries.js';
import {
  identifierKey,
  identifierTypes,
  normalizeAsciiIdentifier,
  normalizeIdentifier,
} from '../../src/engine/identifiers.js';
import {
  indexedFieldsOf,
  orderFreeKey,
  type PreparedChunk,
  prepareIndexChunk,
  WordDictionary,
  wholeNameKey,
} from '../../src/engine/index-chunk.js';
import { normalizeName } from '../../src/engine/normalize.js';
import type { PackedStringsData } from '../../src/engine/packed-strings.js';
import { hashKey } from '../../src/engine/string-hash-index.js';
import { entityText } from '../support/entity-arbitraries.js';

/** A prepared chunk without the id of the dictionary that made it, which differs from one to the next. */
function prepared(input: Parameters<typeof prepareIndexChunk>[0]): Omit<PreparedChunk, 'dictionary'> {
  const { dictionary: _, ...chunk } = prepareIndexChunk(input, new WordDictionary());
  return chunk;
}

const key = (chunk: PreparedChunk, table: 'wholeNames' | 'orderFreeNames', at: number) => {
  const { bytes, offsets } = chunk[table];
  return Buffer.from(bytes.subarray(offsets[at], offsets[at + 1])).toString('utf8');
};

describe('preparing a chunk of entities for the index', () => {
  it('writes each name record the keys that a query makes for the same words', () => {
    const entities = [...registryEntities({ count: 300, seed: 'chunk-keys', certificates: false })];
    const chunk = prepareIndexChunk({ entities: entities.map(indexedFieldsOf) }, new WordDictionary());
    let record = 0;
    entities.forEach((entity, e) => {
      const country = chunk.countries[e] as number;
      for (; record < (chunk.recordsEnd[e] as number); record++) {
        const legalName = normalizeName(entity.certified_entity_name, true).tokens;
        const names = [legalName];
        for (const other of [entity.certified_entity_english_name, entity.certified_entity_trading_name])
          if (other) names.push(normalizeName(other, true).tokens);
        const wholeName = key(chunk, 'wholeNames', record);
        const tokens = names.find((name) => wholeNameKey(country, name) === wholeName);
        expect(tokens, `record ${record} of ${entity.ce_id}`).toBeDefined();
        if (!tokens) continue;
        expect(chunk.wholeNameHashes[record]).toBe(hashKey(wholeNameKey(country, tokens)));
        const orderFree = tokens.length > 1 ? orderFreeKey(country, tokens) : '';
        expect(key(chunk, 'orderFreeNames', record)).toBe(orderFree);
        expect(chunk.orderFreeNameHashes[record]).toBe(hashKey(orderFree));
      }
    });
  });

  it('writes each entity the identifier keys a lookup makes, and its display name and texts as given', () => {
    const entities = [...registryEntities({ count: 300, seed: 'chunk-identifiers', certificates: false })];
    const chunk = prepareIndexChunk({ entities: entities.map(indexedFieldsOf) }, new WordDictionary());
    const text = (table: PackedStringsData, at: number) =>
      Buffer.from(table.bytes.subarray(table.offsets[at], table.offsets[at + 1])).toString('utf8');
    let identifier = 0;
    let identifiersSeen = 0;
    entities.forEach((entity, e) => {
      const country = chunk.countries[e] as number;
      expect(text(chunk.displayNames, e)).toBe(entity.certified_entity_name);
      const expected: string[] = [];
      for (const type of identifierTypes) {
        const value = entity.company_identifiers?.[type];
        const normalized = value ? normalizeIdentifier(value, country) : undefined;
        if (normalized !== undefined) expected.push(identifierKey(type, country, normalized));
      }
      const written: string[] = [];
      for (; identifier < (chunk.identifiersEnd[e] as number); identifier++) {
        written.push(text(chunk.identifiers, identifier));
        expect(chunk.identifierHashes[identifier]).toBe(hashKey(text(chunk.identifiers, identifier)));
      }
      expect(written, entity.ce_id).toEqual(expected);
      identifiersSeen += written.length;
    });
    expect(identifiersSeen).toBeGreaterThan(300);
    const [firstRecord, endRecord] = [0, chunk.recordsEnd[0] as number];
    const firstName = normalizeName(
      (entities[0] as { certified_entity_name: string }).certified_entity_name,
      true,
    );
    expect(endRecord).toBeGreaterThan(firstRecord);
    expect(text(chunk.texts, firstRecord)).toBe(firstName.tokens.join(' '));
  });

  it('reads the same entities from a file’s bytes as from its lines parsed as JSON (property)', () => {
    const identifierValue = fc.oneof(
      fc.constantFrom('DE 123.456.789', 'ATU12345678', '473749794', 'gb-123 456 789', 'x', ''),
      fc.string({ maxLength: 12 }),
      fc.constant(null),
      fc.integer(),
    );
    const text = entityText;
    const member = fc.oneof(
      fc.tuple(
        fc.constant('ce_id'),
        fc.oneof(fc.constant('ce_dRX42uvEP0DwZ9f7PyWuRgah'), text, fc.integer()),
      ),
      fc.tuple(fc.constant('certified_entity_name'), fc.oneof(text, fc.constant(null), fc.integer())),
      fc.tuple(fc.constant('certified_entity_english_name'), fc.oneof(text, fc.constant(null), fc.boolean())),
      fc.tuple(fc.constant('certified_entity_trading_name'), fc.oneof(text, fc.constant(null))),
      fc.tuple(fc.constant('country'), fc.oneof(fc.constantFrom('AR', 'DE', 'Germany', 'GRC', 'XX'), text)),
      fc.tuple(
        fc.constant('company_identifiers'),
        fc.oneof(
          fc.dictionary(
            fc.constantFrom('vat', 'tax_id', 'duns_number', 'company_id', 'other'),
            identifierValue,
          ),
          fc.constant(null),
          fc.constant(['vat']),
          fc.constant('DE123456789'),
        ),
      ),
      fc.tuple(
        fc.constantFrom('certified_entity_addresses', 'certificates'),
        fc.constant([{ city: 'Neuquén' }]),
      ),
      fc.tuple(fc.constantFrom('updated_at', 'extra'), fc.oneof(fc.integer(), fc.constant({ deep: [[1]] }))),
    );
    const line = fc
      .record({
        members: fc.array(member, { maxLength: 9 }),
        spaced: fc.boolean(),
        escapeKeys: fc.boolean(),
        damage: fc.oneof(fc.constant(-1), fc.nat(400)),
      })
      .map(({ members, spaced, escapeKeys, damage }) => {
        const gap = spaced ? ' \t' : '';
        const body = members
          .map(([name, value]) => {
            const quoted = JSON.stringify(name);
            return `${escapeKeys ? quoted.replace('_', '\\u005f') : quoted}${gap}:${gap}${JSON.stringify(value)}`;
          })
          .join(`,${gap}`);
        const whole = `${gap}{${gap}${body}${gap}}${gap}`;
        // A line cut short somewhere is not JSON: both sides must report it alike.
        return damage >= 0 && damage < whole.length ? whole.slice(0, damage) : whole;
      });
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), (lines) => {
        const bytes = Buffer.from(lines.join('\n'), 'utf8');
        expect(prepared({ bytes })).toEqual(prepared({ lines }));
      }),
      { numRuns: 500 },
    );
  });

  it('normalizes an ASCII identifier from its bytes as from its text (property)', () => {
    const countries = ['DE', 'AT', 'GR', 'GB', 'US', 'FR', 'IN'].map(resolveCountry) as CountryIndex[];
    const asciiIdentifier = fc.oneof(
      fc.constantFrom(
        'DE 123.456.789',
        'ATU12345678',
        'de123456789mwst',
        'GRC12345',
        'EL 1234',
        'GR',
        'MWST',
      ),
      // Prefixes, markers, separators and case, in any order.
      fc
        .array(
          fc.constantFrom('DE', 'DEU', 'AT', 'EL', 'GRC', 'U', 'MWST', 'tva', '1', '9', '.', '-', ' ', 'x'),
          {
            maxLength: 12,
          },
        )
        .map((parts) => parts.join('')),
      fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        maxLength: 50,
      }),
      fc.string({ unit: 'binary-ascii', minLength: 110, maxLength: 130 }),
    );
    fc.assert(
      fc.property(asciiIdentifier, fc.constantFrom(...countries), (value, country) => {
        const bytes = Buffer.from(`"${value}"`, 'latin1');
        const out = Buffer.alloc(value.length);
        const length = normalizeAsciiIdentifier(bytes, 1, bytes.length - 1, country, out);
        const expected = normalizeIdentifier(value, country);
        expect(length < 0 ? undefined : out.toString('latin1', 0, length)).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads generated registry lines from bytes as from text', () => {
    const lines = [...registryEntities({ count: 200, seed: 'chunk-bytes' })].map((entity) =>
      JSON.stringify(entity),
    );
    expect(prepared({ bytes: Buffer.from(`${lines.join('\n')}\n`) })).toEqual(prepared({ lines }));
  });
});
