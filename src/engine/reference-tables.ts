/**
 * Loads the reference tables in `data/reference/` once per thread and compiles them into the lookup
 * structures normalization and scoring need. The JSON stays the single source of truth: tables are data,
 * not code, so they can grow without touching the matcher.
 *
 * @internal
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** Where the committed reference tables live; the same relative path from `src/engine` and `dist/engine`. */
const referenceDirectory = new URL('../../data/reference/', import.meta.url);

function readTable<T>(fileName: string): T {
  return JSON.parse(readFileSync(new URL(fileName, referenceDirectory), 'utf8')) as T;
}

export type LegalFormFamily = 'private' | 'public' | 'partnership' | 'sole' | 'cooperative' | 'generic';

export interface LegalFormEntry {
  code: string;
  family: LegalFormFamily;
  jurisdictions: string[];
  variants: string[];
  /** Forms written before the name (ООО Ромашка, PT Astra); all others are recognised at the end only. */
  prefix?: boolean;
}

export interface CountryEntry {
  alpha2: string;
  alpha3: string;
  name: string;
  aliases: string[];
  script: 'latin' | 'cyrillic' | 'greek' | 'cjk';
  legalForms: string[];
  words: string[];
  cities: string[];
  identifiers: Partial<Record<IdentifierType, string>>;
  accreditationBody: string;
  wordPairs?: [string, string][];
  legalFormPairs?: [string, string][];
}

export const identifierTypes = [
  'vat',
  'tax_id',
  'business_registration_number',
  'duns_number',
  'company_id_number',
] as const;
export type IdentifierType = (typeof identifierTypes)[number];

export interface VocabularyTable {
  canonical: Record<string, string>;
  industry: string[];
  generic: string[];
  connectors: string[];
  noisePrefixes: string[][];
}

export interface CertificationTable {
  standards: { standard_name: string; scheme_name: string; weight: number }[];
  certificationBodies: string[];
  sectors: [string, string][];
  statuses: [string, number][];
  scopeTemplates: string[];
  scopeProducts: string[];
  scopeServices: string[];
}

let legalForms: LegalFormEntry[] | undefined;
let countries: CountryEntry[] | undefined;
let vocabulary: VocabularyTable | undefined;
let certification: CertificationTable | undefined;

export function legalFormTable(): LegalFormEntry[] {
  legalForms ??= readTable<{ forms: LegalFormEntry[] }>('legal-forms.json').forms;
  return legalForms;
}

export function countryTable(): CountryEntry[] {
  countries ??= readTable<{ countries: CountryEntry[] }>('countries.json').countries;
  assert.ok(countries.length >= 30, 'the country table must cover at least 30 countries');
  return countries;
}

export function vocabularyTable(): VocabularyTable {
  vocabulary ??= readTable<VocabularyTable>('vocabulary.json');
  return vocabulary;
}

export function certificationTable(): CertificationTable {
  certification ??= readTable<CertificationTable>('certification.json');
  return certification;
}
