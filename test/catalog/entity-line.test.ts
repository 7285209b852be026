import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChunkWriter,
  certificateJsonPrefix,
  type StoredLine,
  storeEntityLine,
  storeEntityText,
} from '../../src/catalog/entity-line.js';
import { parseEntityChunk } from '../../src/catalog/import-worker.js';
import { JsonScanner, maxScanDepth } from '../../src/catalog/json-scan.js';
import { registryEntities } from '../../src/data/generate-registry.js';

/** Everything a stored line means, decoded, so two ways of storing it can be compared as JSON, not bytes. */
function meaning(stored: StoredLine | undefined, out: ChunkWriter) {
  if (stored === undefined || 'problem' in stored) return stored;
  const bytes = out.written();
  const text = (start: number, length: number) => bytes.toString('utf8', start, start + length);
  const { entity } = stored;
  const document = text(entity.documentStart, entity.documentLength);
  const own = entity.own.map(({ certId, start, length }) => {
    const json = text(entity.documentStart + start, length);
    expect(json.startsWith(certificateJsonPrefix(certId))).toBe(true);
    return { certId, certificate: JSON.parse(json) };
  });
  const shared = entity.shared.map(({ certId, updatedAt, bodyStart, bodyLength }) => {
    const json = text(bodyStart, bodyLength);
    expect(json.startsWith(certificateJsonPrefix(certId))).toBe(true);
    return { certId, updatedAt, certificate: JSON.parse(json) };
  });
  return {
    ceId: entity.ceId,
    name: entity.name,
    updatedAt: entity.updatedAt,
    document: JSON.parse(document),
    withoutCertificates: JSON.parse(`${text(entity.documentStart, entity.certificatesAt)}}`),
    own,
    shared,
  };
}

/** The line stored by the byte scanner and by JSON.parse, each into a writer that already holds other bytes. */
function bothWays(line: string) {
  const bytes = Buffer.from(line, 'utf8');
  const fastOut = new ChunkWriter(16);
  fastOut.putText('earlier lines ');
  const slowOut = new ChunkWriter(16);
  slowOut.putText('earlier');
  const fast = storeEntityLine(bytes, 0, bytes.length, fastOut);
  const slow = storeEntityText(line, slowOut);
  return { fast: meaning(fast, fastOut), slow: meaning(slow, slowOut), fastGaveUp: fast === undefined };
}

/** JSON with chosen whitespace between tokens and, optionally, every string character escaped. */
function serialize(value: unknown, space: string, escapeAll: boolean): string {
  if (typeof value === 'string') {
    if (!escapeAll) return JSON.stringify(value);
    return `"${[...value].map((c) => [...c].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')).join('')}"`;
  }
  if (Array.isArray(value)) {
    return `[${space}${value.map((v) => serialize(v, space, escapeAll)).join(`${space},${space}`)}${space}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(
      ([key, v]) => `${serialize(key, space, escapeAll)}${space}:${space}${serialize(v, space, escapeAll)}`,
    );
    return `{${space}${members.join(`${space},${space}`)}${space}}`;
  }
  return JSON.stringify(value);
}

const entities = [...registryEntities({ count: 30, seed: 'entity-line' })];
const optionalFields = [
  'certified_entity_english_name',
  'certified_entity_trading_name',
  'company_identifiers',
  'certified_entity_addresses',
  'updated_at',
  'certificates',
] as const;
const anyField = ['ce_id', 'certified_entity_name', 'country', ...optionalFields] as const;

const duplicateCertIdKey = 'cert_id, again';

/** Entity lines as a registry might write them, and as it should not. */
const entityLine = fc
  .record({
    entity: fc.constantFrom(...entities),
    space: fc.constantFrom('', ' ', '\t', ' \r '),
    escapeAll: fc.boolean(),
    shuffle: fc.boolean(),
    dropped: fc.subarray([...optionalFields]),
    nulled: fc.subarray([...optionalFields]),
    extra: fc.option(fc.tuple(fc.string(), fc.jsonValue({ maxDepth: 3 }))),
    wrongType: fc.option(fc.tuple(fc.constantFrom(...anyField), fc.jsonValue({ maxDepth: 2 }))),
    duplicated: fc.option(fc.tuple(fc.constantFrom(...anyField), fc.jsonValue({ maxDepth: 1 }))),
    certIdLast: fc.boolean(),
    sharedWith: fc.option(fc.constantFrom(...entities)),
    certificateTrouble: fc.option(
      fc.constantFrom(
        'not an object',
        'covered not an array',
        'covered null',
        'cert_id twice',
        'cert_id key twice',
        'bad updated_at',
      ),
    ),
    truncateAt: fc.option(fc.nat()),
  })
  .map((v) => {
    const record: Record<string, unknown> = structuredClone(v.entity) as unknown as Record<string, unknown>;
    for (const field of v.dropped) delete record[field];
    for (const field of v.nulled) if (field in record) record[field] = null;
    const certificates = Array.isArray(record.certificates)
      ? (record.certificates as Record<string, unknown>[])
      : [];
    const first = certificates[0];
    if (first !== undefined) {
      if (v.certIdLast) {
        const { cert_id, ...rest } = first;
        certificates[0] = { ...rest, cert_id };
      }
      if (v.sharedWith) {
        certificates[0] = {
          ...certificates[0],
          certified_entities: [{ ce_id: v.sharedWith.ce_id, certified_entity_name: 'x' }],
        };
      }
      switch (v.certificateTrouble) {
        case 'not an object':
          certificates.push(7 as unknown as Record<string, unknown>);
          break;
        case 'covered not an array':
          certificates[0] = { ...certificates[0], certified_entities: 'all of them' };
          break;
        case 'covered null':
          certificates[0] = { ...certificates[0], certified_entities: null };
          break;
        case 'cert_id twice':
          certificates.push({ ...certificates[0] });
          break;
        case 'cert_id key twice':
          // Renamed to cert_id once serialized: an object cannot hold a key twice, a line can.
          certificates[0] = { ...certificates[0], [duplicateCertIdKey]: 'cert_000000000000000000000000' };
          break;
        case 'bad updated_at':
          certificates[0] = { ...certificates[0], updated_at: 1.5 };
          break;
      }
    }
    if (v.extra) record[`extra ${v.extra[0]}`] = v.extra[1];
    if (v.wrongType) record[v.wrongType[0]] = v.wrongType[1];
    let entries = Object.entries(record);
    if (v.shuffle) entries = entries.reverse();
    let line = serialize(Object.fromEntries(entries), v.space, v.escapeAll).replace(
      serialize(duplicateCertIdKey, '', v.escapeAll),
      serialize('cert_id', '', v.escapeAll),
    );
    // A duplicated key's first value is overridden by the later one, as JSON.parse reads it.
    if (v.duplicated) {
      line = `{${JSON.stringify(v.duplicated[0])}:${JSON.stringify(v.duplicated[1])},${line.slice(1)}`;
    }
    return v.truncateAt === null ? line : line.slice(0, v.truncateAt % (line.length + 1));
  });

describe('storing an entity line from its bytes', () => {
  it('means exactly what parsing the line with JSON.parse means, for valid, odd and broken lines', () => {
    fc.assert(
      fc.property(entityLine, (line) => {
        const { fast, slow, fastGaveUp } = bothWays(line);
        if (fastGaveUp) {
          // It gives up only on lines that are not a JSON object; JSON.parse then words the problem.
          expect(slow).toHaveProperty('problem');
        } else {
          expect(fast).toEqual(slow);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('copies certificates the registry writes cert_id first as they are, and rewrites the others', () => {
    const [entity] = entities;
    const certificate = entity?.certificates?.[0];
    if (entity === undefined || certificate === undefined)
      throw new Error('the generator made no certificate');
    const { cert_id, ...rest } = certificate;
    const line = JSON.stringify({ ...entity, certificates: [{ ...rest, cert_id }] });
    const { fast } = bothWays(line);
    expect(fast).toMatchObject({ own: [{ certId: cert_id, certificate: { ...rest, cert_id } }] });
  });

  it('keeps escapes in values, and reads escaped keys as the keys they spell', () => {
    const line =
      '{"ce\\u005fid":"ce_abcdefghijklmnopqrstuvwx","certified_entity_name":"M\\u00fcller \\"Werk\\"","country":"DE"}';
    const { fast, slow } = bothWays(line);
    expect(fast).toEqual(slow);
    expect(fast).toMatchObject({ ceId: 'ce_abcdefghijklmnopqrstuvwx', name: 'Müller "Werk"' });
  });

  it('leaves lines nested deeper than the scanner goes to JSON.parse, which stores them the same', () => {
    const deep = `${'['.repeat(maxScanDepth + 5)}${']'.repeat(maxScanDepth + 5)}`;
    const line = JSON.stringify({ ...entities[0], extra: 1 }).replace('"extra":1', `"extra":${deep}`);
    const bytes = Buffer.from(line);
    expect(storeEntityLine(bytes, 0, bytes.length, new ChunkWriter(16))).toBeUndefined();
    const chunk = parseEntityChunk({ bytes: new Uint8Array(Buffer.from(`${line}\n`)) });
    expect(chunk.entities.count).toBe(1);
    expect(chunk.entities.ceIds).toBe(entities[0]?.ce_id);
  });

  it('imports a line that is not UTF-8 with replacement characters, as decoding it always did', () => {
    const good = Buffer.from(JSON.stringify({ ...entities[0], certified_entity_name: 'Acme XX GmbH' }));
    const at = good.indexOf('XX');
    good[at] = 0xff; // not UTF-8
    good[at + 1] = 0xfe;
    const chunk = parseEntityChunk({ bytes: new Uint8Array(Buffer.concat([good, Buffer.from('\n')])) });
    expect(chunk.entities.names).toBe('Acme \ufffd\ufffd GmbH');
  });
});

describe('the JSON scanner', () => {
  /** Whether the scanner reads the whole text as one JSON value with whitespace around it. */
  const scansWhole = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const scanner = new JsonScanner(bytes, bytes.length);
    const end = scanner.skipValue(scanner.skipWhitespace(0));
    return end >= 0 && scanner.skipWhitespace(end) === bytes.length;
  };
  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  const jsonText = fc
    .tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('', ' ', '\t\r\n '))
    .map(([value, space]) => serialize(value, space, false));
  const token = fc.constantFrom(
    ...'{}[]",:\\/ 0123456789.eE+-tfnrulabu\u0001\u001f\u00e9'.split(''),
    'true',
    'null',
    '\\u12',
    '\\uzzzz',
    '-0',
    '1e',
    '01',
  );

  it('accepts exactly the texts JSON.parse accepts, for JSON and for JSON with a token inserted or removed', () => {
    fc.assert(
      fc.property(
        jsonText,
        fc.nat(),
        token,
        fc.constantFrom('insert', 'remove', 'replace', 'none'),
        (text, at, piece, how) => {
          const i = at % (text.length + 1);
          const mutated =
            how === 'insert'
              ? text.slice(0, i) + piece + text.slice(i)
              : how === 'remove'
                ? text.slice(0, i) + text.slice(i + 1)
                : how === 'replace'
                  ? text.slice(0, i) + piece + text.slice(i + piece.length)
                  : text;
          expect(scansWhole(mutated)).toBe(parses(mutated));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
