/**
 * One line of an entity file, checked and turned into what the catalog stores. Pure, so that the import runs
 * it in a worker thread while the main thread writes to SQLite.
 *
 * An entity is stored as its **document**: the JSON the API answers with (UTF-8 bytes), the certificates
 * array last, holding every certificate that covers this entity alone. A certificate covering several
 * entities is stored once, apart, and spliced into each covered entity's document when it is read. Most
 * entities have no shared certificate, so a lookup is one row read and no JSON is parsed or re-encoded.
 *
 * @internal
 */
import {
  type CertificateRecord,
  type CertifiedEntityRecord,
  certificateIdPattern,
  isCertifiedEntityId,
  resolveCountry,
} from '../engine/index.js';
import { JsonScanner } from './json-scan.js';

/** A certificate inside its entity's document: where its JSON starts and how many bytes it takes. */
export interface OwnCertificate {
  certId: string;
  start: number;
  length: number;
}

/** A certificate that covers several entities, stored once: its JSON is a byte range of the chunk's buffer. */
export interface SharedCertificate {
  certId: string;
  bodyStart: number;
  bodyLength: number;
  updatedAt: number;
}

/** An entity as the catalog stores it; `document` is the byte range of its document in the chunk's buffer. */
export interface StoredEntity {
  ceId: string;
  name: string;
  updatedAt: number;
  documentStart: number;
  documentLength: number;
  /** Bytes of the document before `,"certificates":[`: with a closing brace, the entity without certificates. */
  certificatesAt: number;
  own: OwnCertificate[];
  shared: SharedCertificate[];
}

/** What a line of the entity file becomes: an entity stored in the chunk's buffer, or why it was skipped. */
export type StoredLine = { entity: StoredEntity } | { problem: string };

/**
 * The bytes a chunk of lines becomes: each entity's document, with the shared certificates it lists after it,
 * back to back. Grows as needed.
 */
export class ChunkWriter {
  bytes: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(capacity, 1024));
  }

  /** Appends `source[start, end)`. */
  copy(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.#reserve(count);
    const bytes = this.bytes;
    // A loop beats a native call for the short keys and values most pieces are.
    if (count < 48) for (let i = 0; i < count; i++) bytes[this.length + i] = source[start + i] as number;
    else bytes.set(source.subarray(start, end), this.length);
    this.length += count;
  }

  /** Appends constant bytes (a key, a default). */
  put(piece: Uint8Array): void {
    this.copy(piece, 0, piece.length);
  }

  /** Appends a string as UTF-8. */
  putText(text: string): void {
    this.#reserve(text.length * 3);
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** The bytes written, without copying. */
  written(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  #reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + count));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

/** The text every entity's document starts with, which a lookup checks before answering. */
export function entityJsonPrefix(ceId: string): string {
  return `{"ce_id":${JSON.stringify(ceId)}`;
}

/** The text every certificate's JSON starts with in a document, which a lookup checks before answering. */
export function certificateJsonPrefix(certId: string): string {
  return `{"cert_id":${JSON.stringify(certId)}`;
}

const isTimestamp = (value: unknown) =>
  value === undefined || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0);

function problemOf(entity: unknown): string | undefined {
  if (typeof entity !== 'object' || entity === null || Array.isArray(entity))
    return 'an entity must be a JSON object';
  const record = entity as Partial<CertifiedEntityRecord>;
  if (typeof record.ce_id !== 'string' || !isCertifiedEntityId(record.ce_id)) {
    return 'ce_id must be "ce_" followed by 24 letters or digits';
  }
  if (typeof record.certified_entity_name !== 'string' || record.certified_entity_name.trim() === '') {
    return 'certified_entity_name is required';
  }
  if (typeof record.country !== 'string' || resolveCountry(record.country) === 0) {
    return `unknown country ${JSON.stringify(record.country)}`;
  }
  if (!isTimestamp(record.updated_at)) return 'updated_at must be a whole number of seconds since 1970';
  if (record.certificates !== undefined && !Array.isArray(record.certificates)) {
    return 'certificates must be an array';
  }
  const seen = new Set<string>();
  for (const certificate of record.certificates ?? []) {
    if (typeof certificate?.cert_id !== 'string' || !certificateIdPattern.test(certificate.cert_id)) {
      return 'every certificate needs a cert_id: "cert_" followed by 24 letters or digits';
    }
    if (seen.has(certificate.cert_id)) return `certificate ${certificate.cert_id} is listed twice`;
    seen.add(certificate.cert_id);
    if (!isTimestamp(certificate.updated_at)) {
      return `certificate ${certificate.cert_id}: updated_at must be a whole number of seconds since 1970`;
    }
    if (certificate.certified_entities !== undefined && !Array.isArray(certificate.certified_entities)) {
      return `certificate ${certificate.cert_id}: certified_entities must be an array`;
    }
  }
  return undefined;
}

/** The entity as stored: every field of the record except its certificates, in the API's order. */
function storedRecord(entity: CertifiedEntityRecord): CertifiedEntityRecord {
  return {
    ce_id: entity.ce_id,
    certified_entity_name: entity.certified_entity_name,
    certified_entity_english_name: entity.certified_entity_english_name ?? null,
    certified_entity_trading_name: entity.certified_entity_trading_name ?? null,
    country: entity.country,
    company_identifiers: entity.company_identifiers ?? {},
    certified_entity_addresses: entity.certified_entity_addresses ?? [],
    updated_at: entity.updated_at ?? 0,
  };
}

/** A certificate's JSON with `cert_id` first, as {@link certificateJsonPrefix} expects. */
function certificateJson(certificate: CertificateRecord): string {
  // Registry files list cert_id first already; copying the object only when not saved 15% of parsing.
  for (const key in certificate) {
    if (key === 'cert_id') return JSON.stringify(certificate);
    break;
  }
  const { cert_id, ...rest } = certificate;
  return JSON.stringify({ cert_id, ...rest });
}

/**
 * Shared: the certificate covers more entities than the one whose line lists it, given how many its
 * certified_entities names and the first one's ce_id (whatever value the line gives it).
 */
function coversOthers(coveredCount: number, firstCoveredCeId: unknown, ceId: string): boolean {
  return coveredCount > 1 || (coveredCount === 1 && firstCoveredCeId !== ceId);
}

/** Appends a document's closing bytes and then the shared certificates' bodies, placed where they landed. */
function finishDocument(
  out: ChunkWriter,
  documentStart: number,
  sharedBodies: { certId: string; updatedAt: number; write: () => void }[],
): { documentLength: number; shared: SharedCertificate[] } {
  out.put(documentEnd);
  const documentLength = out.length - documentStart;
  const shared = sharedBodies.map(({ certId, updatedAt, write }): SharedCertificate => {
    const bodyStart = out.length;
    write();
    return { certId, updatedAt, bodyStart, bodyLength: out.length - bodyStart };
  });
  return { documentLength, shared };
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const certificatesKey = utf8(',"certificates":[');
const documentEnd = utf8(']}');
const comma = utf8(',');

/**
 * Parses and checks one non-blank line with `JSON.parse`, and appends what is stored to `out`: the reference
 * that {@link storeEntityLine}'s byte scanner must agree with, and its fallback for any line it does not
 * read itself.
 */
export function storeEntityText(text: string, out: ChunkWriter): StoredLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON: ${(error as Error).message}` };
  }
  const problem = problemOf(parsed);
  if (problem !== undefined) return { problem };
  const entity = parsed as CertifiedEntityRecord;
  const documentStart = out.length;
  const record = JSON.stringify(storedRecord(entity));
  out.putText(record.slice(0, -1));
  const certificatesAt = out.length - documentStart;
  out.put(certificatesKey);
  const own: OwnCertificate[] = [];
  const sharedBodies: Parameters<typeof finishDocument>[2] = [];
  for (const certificate of entity.certificates ?? []) {
    const json = certificateJson(certificate);
    const { cert_id: certId, updated_at: updatedAt = 0 } = certificate;
    const covered = certificate.certified_entities ?? [];
    if (coversOthers(covered.length, covered[0]?.ce_id, entity.ce_id)) {
      sharedBodies.push({ certId, updatedAt, write: () => out.putText(json) });
      continue;
    }
    if (own.length > 0) out.put(comma);
    const start = out.length;
    out.putText(json);
    own.push({ certId, start: start - documentStart, length: out.length - start });
  }
  const { documentLength, shared } = finishDocument(out, documentStart, sharedBodies);
  return {
    entity: {
      ceId: entity.ce_id,
      name: entity.certified_entity_name,
      updatedAt: entity.updated_at ?? 0,
      documentStart,
      documentLength,
      certificatesAt,
      own,
      shared,
    },
  };
}

/** A key, quoted, as bytes to compare members' keys with. */
const quotedKey = (key: string) => utf8(JSON.stringify(key));

/**
 * The top-level fields the document keeps, in the API's order, with what stands in for an absent one (and for
 * a null one, as `??` does in {@link storedRecord}).
 */
const storedFieldDefaults: [key: string, absent?: string][] = [
  ['ce_id'],
  ['certified_entity_name'],
  ['certified_entity_english_name'],
  ['certified_entity_trading_name'],
  ['country'],
  ['company_identifiers', '{}'],
  ['certified_entity_addresses', '[]'],
  ['updated_at', '0'],
];
const storedFields = storedFieldDefaults.map(([key, absent], i) => ({
  /** `{"key":` for the first field, `,"key":` after. */
  prefix: utf8(`${i === 0 ? '{' : ','}${JSON.stringify(key)}:`),
  absent: absent === undefined ? undefined : utf8(absent),
}));
const nullBytes = utf8('null');
/** The keys read at the top level: the stored fields', in order, then `certificates`. */
const topLevelKeys = [...storedFieldDefaults.map(([key]) => key), 'certificates'].map(quotedKey);
const certificatesField = storedFieldDefaults.length;
const fieldOf = (key: string) => storedFieldDefaults.findIndex(([stored]) => stored === key);
const ceIdField = fieldOf('ce_id');
const nameField = fieldOf('certified_entity_name');
const countryField = fieldOf('country');
const updatedAtField = fieldOf('updated_at');

/** A certificate as the scanner found it: byte ranges in the line, -1 for a member it does not have. */
interface ScannedCertificate {
  start: number;
  /** Where it ends, or -1 when it is not JSON the scanner reads. */
  end: number;
  isObject: boolean;
  certIdStart: number;
  certIdEnd: number;
  /**
   * Written `{"cert_id":"..."` with no escape and no second cert_id (each cert_id key decides it afresh, and
   * only the first can start the object): its bytes are copied as they are.
   */
  copyable: boolean;
  updatedStart: number;
  updatedEnd: number;
  coveredStart: number;
  coveredEnd: number;
  /** Elements of certified_entities when it is an array (0 when it is absent or not one). */
  coveredCount: number;
  /** The first covered entity's ce_id member. */
  firstCoveredStart: number;
  firstCoveredEnd: number;
}

/** Whether a member's key (its bytes, quotes included) is `key`, which must be ASCII. */
function keyIs(line: Buffer, keyStart: number, keyEnd: number, escaped: boolean, key: Uint8Array): boolean {
  if (escaped) return JSON.parse(line.toString('utf8', keyStart, keyEnd)) === JSON.parse(key.toString());
  if (keyEnd - keyStart !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (line[keyStart + i] !== key[i]) return false;
  return true;
}

const certIdKey = quotedKey('cert_id');
const updatedAtKey = quotedKey('updated_at');
const coveredKey = quotedKey('certified_entities');
const ceIdKey = quotedKey('ce_id');

/** A scanned value, decoded; strings without an escape are decoded without JSON.parse. */
function decodeValue(line: Buffer, start: number, end: number): unknown {
  if (start < 0) return undefined;
  if (line[start] === 0x22) {
    let plain = true;
    for (let i = start + 1; i < end - 1; i++) {
      if (line[i] === 0x5c) {
        plain = false;
        break;
      }
    }
    if (plain) return line.toString('utf8', start + 1, end - 1);
  }
  return JSON.parse(line.toString('utf8', start, end));
}

function scanCertificate(scanner: JsonScanner, line: Buffer, start: number): ScannedCertificate {
  const scanned: ScannedCertificate = {
    start,
    end: -1,
    isObject: line[start] === 0x7b,
    certIdStart: -1,
    certIdEnd: -1,
    copyable: false,
    updatedStart: -1,
    updatedEnd: -1,
    coveredStart: -1,
    coveredEnd: -1,
    coveredCount: 0,
    firstCoveredStart: -1,
    firstCoveredEnd: -1,
  };
  if (!scanned.isObject) {
    scanned.end = scanner.skipValue(start);
    return scanned;
  }
  scanned.end = scanner.members(start, (keyStart, keyEnd, value) => {
    const escaped = scanner.escaped;
    if (keyIs(line, keyStart, keyEnd, escaped, coveredKey)) return scanCovered(scanner, line, scanned, value);
    const valueEnd = scanner.skipValue(value);
    if (keyIs(line, keyStart, keyEnd, escaped, certIdKey)) {
      scanned.certIdStart = value;
      scanned.certIdEnd = valueEnd;
      scanned.copyable =
        !escaped &&
        keyStart === start + 1 &&
        value === keyEnd + 1 &&
        line[value] === 0x22 &&
        !scanner.escaped;
    } else if (keyIs(line, keyStart, keyEnd, escaped, updatedAtKey)) {
      scanned.updatedStart = value;
      scanned.updatedEnd = valueEnd;
    }
    return valueEnd;
  });
  return scanned;
}

/** certified_entities: how many, and the first one's ce_id, which decide whether the certificate is shared. */
function scanCovered(scanner: JsonScanner, line: Buffer, scanned: ScannedCertificate, value: number): number {
  scanned.coveredCount = 0;
  scanned.firstCoveredStart = -1;
  scanned.firstCoveredEnd = -1;
  const end =
    line[value] !== 0x5b
      ? scanner.skipValue(value)
      : scanner.elements(value, (element) => {
          scanned.coveredCount++;
          if (scanned.coveredCount > 1 || line[element] !== 0x7b) return scanner.skipValue(element);
          return scanner.members(element, (keyStart, keyEnd, member) => {
            const isCeId = keyIs(line, keyStart, keyEnd, scanner.escaped, ceIdKey);
            const memberEnd = scanner.skipValue(member);
            if (isCeId) {
              scanned.firstCoveredStart = member;
              scanned.firstCoveredEnd = memberEnd;
            }
            return memberEnd;
          });
        });
  scanned.coveredStart = value;
  scanned.coveredEnd = end;
  return end;
}

/** What {@link problemOf} checks of a scanned certificate, decoded. */
function certificateToCheck(line: Buffer, scanned: ScannedCertificate): unknown {
  if (!scanned.isObject) return decodeValue(line, scanned.start, scanned.end);
  const covered =
    scanned.coveredStart < 0 || line[scanned.coveredStart] === 0x5b
      ? undefined // absent, or an array: either passes the check
      : decodeValue(line, scanned.coveredStart, scanned.coveredEnd);
  return {
    cert_id: decodeValue(line, scanned.certIdStart, scanned.certIdEnd),
    updated_at: decodeValue(line, scanned.updatedStart, scanned.updatedEnd),
    certified_entities: covered,
  };
}

/**
 * Reads one line from its bytes and appends what is stored to `out`, copying each kept field and each
 * certificate as the line writes it: the document is the same JSON as {@link storeEntityText} writes, not
 * always the same bytes. Returns undefined, having written nothing, for a line it does not read itself (not
 * JSON, nested deeper than the scanner goes, not an object); the caller then decodes the line and calls
 * {@link storeEntityText}, which also words the error. The line must be valid UTF-8.
 */
export function storeEntityLine(
  line: Buffer,
  start: number,
  end: number,
  out: ChunkWriter,
): StoredLine | undefined {
  const scanner = new JsonScanner(line, end);
  const fieldStart = new Int32Array(topLevelKeys.length).fill(-1);
  const fieldEnd = new Int32Array(topLevelKeys.length).fill(-1);
  let certificates: ScannedCertificate[] | undefined;
  const objectStart = scanner.skipWhitespace(start);
  if (line[objectStart] !== 0x7b) return undefined;
  const objectEnd = scanner.members(objectStart, (keyStart, keyEnd, value) => {
    const escaped = scanner.escaped;
    const field = topLevelKeys.findIndex((key) => keyIs(line, keyStart, keyEnd, escaped, key));
    if (field < 0) return scanner.skipValue(value);
    let valueEnd: number;
    if (field === certificatesField && line[value] === 0x5b) {
      // A later duplicate key wins, as in JSON.parse.
      const scanned: ScannedCertificate[] = [];
      valueEnd = scanner.elements(value, (element) => {
        const certificate = scanCertificate(scanner, line, element);
        scanned.push(certificate);
        return certificate.end;
      });
      certificates = scanned;
    } else {
      valueEnd = scanner.skipValue(value);
      if (field === certificatesField) certificates = undefined;
    }
    fieldStart[field] = value;
    fieldEnd[field] = valueEnd;
    return valueEnd;
  });
  if (objectEnd < 0 || scanner.skipWhitespace(objectEnd) !== end) return undefined;

  const field = (index: number) => decodeValue(line, fieldStart[index] as number, fieldEnd[index] as number);
  const ceId = field(ceIdField);
  const name = field(nameField);
  const updatedAt = field(updatedAtField);
  const problem = problemOf({
    ce_id: ceId,
    certified_entity_name: name,
    country: field(countryField),
    updated_at: updatedAt,
    certificates:
      certificates?.map((certificate) => certificateToCheck(line, certificate)) ?? field(certificatesField),
  });
  if (problem !== undefined) return { problem };

  const documentStart = out.length;
  storedFields.forEach(({ prefix, absent }, index) => {
    out.put(prefix);
    const valueStart = fieldStart[index] as number;
    const valueEnd = fieldEnd[index] as number;
    if (valueStart < 0) out.put(absent ?? nullBytes);
    // Written plain even when the line escapes it: a lookup checks that a document starts with its ce_id.
    else if (index === ceIdField) out.putText(JSON.stringify(ceId));
    else if (absent !== undefined && isNull(line, valueStart, valueEnd)) out.put(absent);
    else out.copy(line, valueStart, valueEnd);
  });
  const certificatesAt = out.length - documentStart;
  out.put(certificatesKey);
  const own: OwnCertificate[] = [];
  const sharedBodies: Parameters<typeof finishDocument>[2] = [];
  for (const certificate of certificates ?? []) {
    const certId = decodeValue(line, certificate.certIdStart, certificate.certIdEnd) as string;
    const write = certificate.copyable
      ? () => out.copy(line, certificate.start, certificate.end)
      : () =>
          out.putText(
            certificateJson(decodeValue(line, certificate.start, certificate.end) as CertificateRecord),
          );
    const firstCovered = decodeValue(line, certificate.firstCoveredStart, certificate.firstCoveredEnd);
    if (coversOthers(certificate.coveredCount, firstCovered, ceId as string)) {
      const certificateUpdatedAt = decodeValue(line, certificate.updatedStart, certificate.updatedEnd) as
        | number
        | undefined;
      sharedBodies.push({ certId, updatedAt: certificateUpdatedAt ?? 0, write });
      continue;
    }
    if (own.length > 0) out.put(comma);
    const at = out.length;
    write();
    own.push({ certId, start: at - documentStart, length: out.length - at });
  }
  const { documentLength, shared } = finishDocument(out, documentStart, sharedBodies);
  return {
    entity: {
      ceId: ceId as string,
      name: name as string,
      updatedAt: (updatedAt as number | undefined) ?? 0,
      documentStart,
      documentLength,
      certificatesAt,
      own,
      shared,
    },
  };
}

function isNull(line: Buffer, start: number, end: number): boolean {
  return end - start === 4 && line[start] === 0x6e; // the scanner accepted it, so `n` starts `null`
}
