/**
 * One line of an entity file, checked and turned into the rows the catalog stores. Pure, so that the import
 * runs it in a worker thread while the main thread writes to SQLite.
 *
 * @internal
 */
import {
  type CertifiedEntityRecord,
  certificateIdPattern,
  certifiedEntityIdPattern,
  resolveCountry,
} from '../engine/index.js';

/** An entity as the catalog stores it: its JSON text without certificates, and each certificate's text. */
export interface StoredEntity {
  ceId: string;
  body: string;
  updatedAt: number;
  certificates: { certId: string; body: string; updatedAt: number }[];
}

export type ParsedLine = { entity: StoredEntity } | { problem: string };

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
  if (record.certificates !== undefined && !Array.isArray(record.certificates)) {
    return 'certificates must be an array';
  }
  for (const certificate of record.certificates ?? []) {
    if (typeof certificate?.cert_id !== 'string' || !certificateIdPattern.test(certificate.cert_id)) {
      return 'every certificate needs a cert_id: "cert_" followed by 24 letters or digits';
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

/** Parses and checks one non-blank line: the rows to store, or why the line is skipped. */
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
  return {
    entity: {
      ceId: entity.ce_id,
      body: JSON.stringify(storedRecord(entity)),
      updatedAt: entity.updated_at ?? 0,
      certificates: (entity.certificates ?? []).map((certificate) => ({
        certId: certificate.cert_id,
        body: JSON.stringify(certificate),
        updatedAt: certificate.updated_at ?? 0,
      })),
    },
  };
}
