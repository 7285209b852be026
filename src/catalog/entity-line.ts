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
  certifiedEntityIdPattern,
  resolveCountry,
} from '../engine/index.js';

/** A certificate inside its entity's document: where its JSON starts and how many bytes it takes. */
export interface OwnCertificate {
  certId: string;
  start: number;
  length: number;
}

/** A certificate that covers several entities, stored once. */
export interface SharedCertificate {
  certId: string;
  body: string;
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

export type ParsedLine = { entity: EntityDocument } | { problem: string };

/** A parsed line before its document is placed in a chunk's buffer. */
export interface EntityDocument extends Omit<StoredEntity, 'documentStart' | 'documentLength'> {
  document: string;
  /** The document's length in UTF-8 bytes. */
  documentBytes: number;
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
  if (typeof record.ce_id !== 'string' || !certifiedEntityIdPattern.test(record.ce_id)) {
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

/** Shared: it covers more entities than this one. */
function isShared(certificate: CertificateRecord, ceId: string): boolean {
  const covered = certificate.certified_entities ?? [];
  return covered.length > 1 || (covered.length === 1 && covered[0]?.ce_id !== ceId);
}

/** Parses and checks one non-blank line: the entity's document and certificates, or why the line is skipped. */
export function parseEntityLine(text: string): ParsedLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON: ${(error as Error).message}` };
  }
  const problem = problemOf(parsed);
  if (problem !== undefined) return { problem };
  const entity = parsed as CertifiedEntityRecord;
  const record = JSON.stringify(storedRecord(entity));
  const certificatesKey = ',"certificates":[';
  let document = `${record.slice(0, -1)}${certificatesKey}`;
  let bytes = Buffer.byteLength(document);
  const certificatesAt = bytes - certificatesKey.length;
  const own: OwnCertificate[] = [];
  const shared: SharedCertificate[] = [];
  for (const certificate of entity.certificates ?? []) {
    const json = certificateJson(certificate);
    if (isShared(certificate, entity.ce_id)) {
      shared.push({ certId: certificate.cert_id, body: json, updatedAt: certificate.updated_at ?? 0 });
      continue;
    }
    if (own.length > 0) {
      document += ',';
      bytes += 1;
    }
    const length = Buffer.byteLength(json);
    own.push({ certId: certificate.cert_id, start: bytes, length });
    document += json;
    bytes += length;
  }
  return {
    entity: {
      ceId: entity.ce_id,
      name: entity.certified_entity_name,
      updatedAt: entity.updated_at ?? 0,
      document: `${document}]}`,
      documentBytes: bytes + 2,
      certificatesAt,
      own,
      shared,
    },
  };
}
