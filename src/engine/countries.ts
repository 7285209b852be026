/**
 * Country resolution: the API accepts a country name, ISO 3166 alpha-2 or alpha-3 (`Australia`, `AU`,
 * `AUS`), in any case, with or without diacritics or punctuation. Countries are numbered by their position
 * in the reference table so they fit in a `Uint16Array` beside each entity.
 */
import anyAscii from 'any-ascii';
import { type CountryEntry, countryTable } from './reference-tables.js';

/** Numeric country code used inside the index and on the worker protocol; 0 means "unknown". */
export type CountryIndex = number;
export const unknownCountry: CountryIndex = 0;

interface CountryLookup {
  byKey: Map<string, CountryIndex>;
  entries: CountryEntry[];
}

let lookup: CountryLookup | undefined;

/** Folds a country spelling to a lookup key: ASCII, lower case, letters only. */
export function countryKey(text: string): string {
  return anyAscii(text.normalize('NFKC'))
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

function countryLookup(): CountryLookup {
  if (lookup) return lookup;
  const entries = countryTable();
  const byKey = new Map<string, CountryIndex>();
  entries.forEach((entry, position) => {
    const index = position + 1;
    for (const spelling of [entry.alpha2, entry.alpha3, entry.name, ...entry.aliases]) {
      const key = countryKey(spelling);
      if (key && !byKey.has(key)) byKey.set(key, index);
    }
  });
  // Greece's VAT prefix is EL, and many registries use it as the country code too.
  byKey.set('el', byKey.get('gr') ?? unknownCountry);
  lookup = { byKey, entries };
  return lookup;
}

/** Spellings already resolved: a registry or a query file repeats a few dozen spellings millions of times. */
const resolvedSpellings = new Map<string, CountryIndex>();
const resolvedSpellingsMax = 10_000;

/** Resolves a country name, alpha-2 or alpha-3 code; returns {@link unknownCountry} when nothing fits. */
export function resolveCountry(text: string): CountryIndex {
  if (typeof text !== 'string' || text.length > countryTextLengthMax) return unknownCountry;
  const known = resolvedSpellings.get(text);
  if (known !== undefined) return known;
  const resolved = countryLookup().byKey.get(countryKey(text)) ?? unknownCountry;
  // Bounded, so hostile input cannot grow it without limit; past the bound spellings are simply resolved again.
  if (resolvedSpellings.size < resolvedSpellingsMax) resolvedSpellings.set(text, resolved);
  return resolved;
}

/** The longest country text worth looking up ("United Kingdom of Great Britain and Northern Ireland"). */
export const countryTextLengthMax = 80;

export function countryEntry(index: CountryIndex): CountryEntry | undefined {
  return index === unknownCountry ? undefined : countryLookup().entries[index - 1];
}

export function countryAlpha2(index: CountryIndex): string | undefined {
  return countryEntry(index)?.alpha2;
}

export function countryCount(): number {
  return countryLookup().entries.length;
}
