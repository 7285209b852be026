/**
 * Company identifiers (VAT, tax id, registration number, DUNS, company id): normalization and the exact map.
 *
 * An identifier is compared after trimming, case-folding and removing separators, and without a leading
 * country prefix (`DE 123.456.789` = `123456789` for Germany) or a trailing tax marker (`MWST`, `TVA`, `MVA`).
 * Keys are `type:country:value`, so a VAT number never matches another company's DUNS number.
 */
import { type CountryIndex, countryEntry } from './countries.js';
import { type IdentifierType, identifierTypes } from './reference-tables.js';

export { type IdentifierType, identifierTypes };

/** Identifiers with fewer significant characters than this are too weak to prove identity. */
export const identifierLengthMin = 4;
/** The longest identifier any registry issues is well under this (Indian CIN: 21). */
export const identifierLengthMax = 40;

const taxMarkers = /(MWST|TVA|IVA|MVA)$/;

/**
 * Normalizes an identifier value for a country; returns `undefined` when it is too short or too long to be
 * an identifier.
 *
 * @example normalizeIdentifier('DE 123.456.789', germany) // '123456789'
 */
export function normalizeIdentifier(value: string, country: CountryIndex): string | undefined {
  if (value.length > identifierLengthMax * 3) return undefined;
  let compact = value.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const entry = countryEntry(country);
  if (entry) {
    const prefixes = entry.alpha2 === 'GR' ? ['EL', 'GR', 'GRC'] : [entry.alpha3, entry.alpha2];
    for (const prefix of prefixes) {
      // Only a prefix followed by a digit is a country prefix: "ATU1234" keeps its U, "DELTA9" stays whole.
      if (compact.startsWith(prefix) && /^[0-9U]/.test(compact.slice(prefix.length))) {
        compact = compact.slice(prefix.length);
        break;
      }
    }
  }
  compact = compact.replace(taxMarkers, '');
  if (compact.length < identifierLengthMin || compact.length > identifierLengthMax) return undefined;
  return compact;
}

export function identifierKey(type: IdentifierType, country: CountryIndex, normalizedValue: string): string {
  return `${type}:${country}:${normalizedValue}`;
}

/** Exact identifier map: key → entity indexes (usually one; a group VAT number can cover several). */
export class IdentifierIndex {
  readonly #entitiesByKey = new Map<string, number | number[]>();

  add(type: IdentifierType, country: CountryIndex, value: string, entity: number): void {
    const normalized = normalizeIdentifier(value, country);
    if (normalized === undefined) return;
    const key = identifierKey(type, country, normalized);
    const existing = this.#entitiesByKey.get(key);
    if (existing === undefined) this.#entitiesByKey.set(key, entity);
    else if (typeof existing === 'number') {
      if (existing !== entity) this.#entitiesByKey.set(key, [existing, entity]);
    } else if (!existing.includes(entity)) existing.push(entity);
  }

  /** Entities holding this already-normalized identifier in this country. */
  lookup(type: IdentifierType, country: CountryIndex, normalizedValue: string): readonly number[] {
    const found = this.#entitiesByKey.get(identifierKey(type, country, normalizedValue));
    if (found === undefined) return [];
    return typeof found === 'number' ? [found] : found;
  }

  get size(): number {
    return this.#entitiesByKey.size;
  }
}
