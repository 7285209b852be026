/**
 * The registry's entity file format: NDJSON, one certified entity per line with its certificates, using the
 * field names of the Verification API. The engine reads only names, country and identifiers; the catalog
 * keeps the rest.
 */
import type { IdentifierType } from './reference-tables.js';

export interface Address {
  street: string;
  city: string;
  state: string;
  post_code: string;
  full_address: string;
  country: string;
}

export interface CertificateRecord {
  cert_id: string;
  accreditation_bodies_name: string;
  certification_bodies_name: string;
  certification_number: string;
  certification_status: 'active' | 'suspended' | 'withdrawn' | 'expired';
  certification_scope: string;
  certification_standards_scheme: {
    standard_name: string;
    scheme_name: string;
    is_accredited_mla: boolean;
  }[];
  certification_main_sites: (Address & { scope: string })[];
  certification_additional_sites: (Address & { scope: string })[];
  certification_sectors: { sector_name: string; sector_code: string }[];
  certified_entities: { ce_id: string; certified_entity_name: string; country: string }[];
  certification_original_issue_date: string;
  certification_issue_date: string;
  certification_expiry_date: string;
  updated_at: number;
}

export type CompanyIdentifiers = Partial<Record<IdentifierType, string | null>>;

export interface CertifiedEntityRecord {
  ce_id: string;
  certified_entity_name: string;
  certified_entity_english_name?: string | null;
  certified_entity_trading_name?: string | null;
  /** ISO 3166 alpha-2 in generated data; any spelling the country resolver accepts is read. */
  country: string;
  company_identifiers?: CompanyIdentifiers | null;
  certified_entity_addresses?: Address[];
  certificates?: CertificateRecord[];
  updated_at?: number;
}

/** `ce_` + 24 alphanumerics. */
export const certifiedEntityIdPattern = /^ce_[A-Za-z0-9]{24}$/;

/** 1 for the characters of a ce_id after `ce_` (ASCII letters and digits), by character code or byte. */
export const isCertifiedEntityIdCharacter = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')
  isCertifiedEntityIdCharacter[c.charCodeAt(0)] = 1;

/**
 * Whether a text is a ce_id ({@link certifiedEntityIdPattern}), checked a character at a time: an index
 * build checks a million of them, and the regular expression was 2% of a build worker.
 */
export function isCertifiedEntityId(text: string): boolean {
  if (text.length !== 27 || !text.startsWith('ce_')) return false;
  // A code past the table reads undefined, which is not 1.
  for (let i = 3; i < 27; i++) if (isCertifiedEntityIdCharacter[text.charCodeAt(i)] !== 1) return false;
  return true;
}

/** `cert_` + 24 alphanumerics. */
export const certificateIdPattern = /^cert_[A-Za-z0-9]{24}$/;
