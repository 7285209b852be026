/**
 * Validation of a `/company` request body (also each line of `certmatch match` and each item of bulk):
 * bad input is rejected here, at the boundary, with every failing field listed; nothing past this point
 * sees an unchecked value.
 */
import { type CountryIndex, countryTextLengthMax, resolveCountry, unknownCountry } from './countries.js';
import { type IdentifierType, identifierTypes, normalizeIdentifier } from './identifiers.js';
import { resolveMatchRate } from './match-rate.js';
import { type NormalizedName, normalizeName } from './normalize.js';

/** The request body, as the API documents it. Unknown top-level fields are ignored. */
export interface CompanyRequest {
  company_name?: string | null;
  company_country: string;
  company_identifiers?: Partial<Record<IdentifierType, string | null>> | null;
  match_rate?: number | string | null;
}

/** Longest accepted `company_name`; a longer one is a validation error, not a silent cut. */
export const companyNameLengthMax = 500;
export const identifierValueLengthMax = 64;

export interface FieldError {
  field: string;
  message: string;
}

/** A request that cannot be matched as sent; `errors` lists every failing field. */
export class QueryValidationError extends Error {
  readonly code = 'validation_error';
  constructor(readonly errors: FieldError[]) {
    super(errors.map((error) => `${error.field}: ${error.message}`).join('; '));
    this.name = 'QueryValidationError';
  }
}

export interface ParsedQuery {
  name: NormalizedName | undefined;
  country: CountryIndex;
  identifiers: { type: IdentifierType; value: string }[];
  matchRate: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseCountry(body: Record<string, unknown>, errors: FieldError[]): CountryIndex {
  const value = body.company_country;
  if (typeof value !== 'string' || value.trim() === '') {
    errors.push({
      field: 'company_country',
      message: 'is required: a country name, ISO alpha-2 or alpha-3 code',
    });
    return unknownCountry;
  }
  const country = resolveCountry(value);
  if (country === unknownCountry) {
    const shown = value.length > countryTextLengthMax ? `${value.slice(0, countryTextLengthMax)}…` : value;
    errors.push({ field: 'company_country', message: `unknown country "${shown}"` });
  }
  return country;
}

function parseName(body: Record<string, unknown>, errors: FieldError[]): NormalizedName | undefined {
  const value = body.company_name;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    errors.push({ field: 'company_name', message: 'must be a string' });
    return undefined;
  }
  if (value.length > companyNameLengthMax) {
    errors.push({ field: 'company_name', message: `must be at most ${companyNameLengthMax} characters` });
    return undefined;
  }
  if (value.trim() === '') return undefined;
  const name = normalizeName(value);
  if (name.tokens.length === 0) {
    errors.push({
      field: 'company_name',
      message: 'has no distinctive words (only punctuation or a legal form)',
    });
    return undefined;
  }
  return name;
}

function parseIdentifiers(
  body: Record<string, unknown>,
  country: CountryIndex,
  errors: FieldError[],
): ParsedQuery['identifiers'] {
  const value = body.company_identifiers;
  if (value === undefined || value === null) return [];
  if (!isPlainObject(value)) {
    errors.push({ field: 'company_identifiers', message: 'must be an object' });
    return [];
  }
  const parsed: ParsedQuery['identifiers'] = [];
  for (const [key, raw] of Object.entries(value)) {
    const field = `company_identifiers.${key}`;
    if (!(identifierTypes as readonly string[]).includes(key)) {
      errors.push({ field, message: `unknown identifier; expected one of ${identifierTypes.join(', ')}` });
      continue;
    }
    if (raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '')) continue;
    if (typeof raw !== 'string' || raw.length > identifierValueLengthMax) {
      errors.push({ field, message: `must be a string of at most ${identifierValueLengthMax} characters` });
      continue;
    }
    const normalized = normalizeIdentifier(raw, country);
    if (normalized === undefined) {
      errors.push({ field, message: 'is not a valid identifier (4 to 40 letters and digits)' });
      continue;
    }
    parsed.push({ type: key as IdentifierType, value: normalized });
  }
  return parsed;
}

/**
 * Parses and validates a request body.
 *
 * @throws {QueryValidationError} listing every failing field.
 */
export function parseCompanyRequest(body: unknown): ParsedQuery {
  if (!isPlainObject(body)) {
    throw new QueryValidationError([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const errors: FieldError[] = [];
  const country = parseCountry(body, errors);
  const name = parseName(body, errors);
  const identifiers = parseIdentifiers(body, country, errors);
  const nameGiven = typeof body.company_name === 'string' && body.company_name.trim() !== '';
  if (
    !nameGiven &&
    identifiers.length === 0 &&
    !errors.some((e) => e.field === 'company_name' || e.field.startsWith('company_identifiers'))
  ) {
    errors.push({
      field: 'company_name',
      message: 'company_name or at least one company_identifiers value is required',
    });
  }
  if (errors.length > 0) throw new QueryValidationError(errors);
  return { name, country, identifiers, matchRate: resolveMatchRate(body.match_rate) };
}
