/**
 * certmatch's matching engine: the one front door.
 *
 * @example
 * ```ts
 * import { createMatcher } from 'certmatch';
 *
 * const matcher = await createMatcher({ file: 'data/sample/entities.ndjson' });
 * const [best] = await matcher.matchCompany({ company_name: 'ACME ENGINEERING LTD.', company_country: 'GB' });
 * // best?.match_type === 'exactly_matched' when the registry holds Acme Engineering Limited in the UK
 * await matcher.close();
 * ```
 */
import type { CertifiedEntityRecord } from './entity-record.js';
import { type Matcher, MatcherBuilder, type MatcherOptions } from './matcher.js';

export { explainNames, type ScoreOptions, scoreNames } from './compare-names.js';
export { countryAlpha2, resolveCountry } from './countries.js';
export type {
  Address,
  CertificateRecord,
  CertifiedEntityRecord,
  CompanyIdentifiers,
} from './entity-record.js';
export { certificateIdPattern, certifiedEntityIdPattern, isCertifiedEntityId } from './entity-record.js';
export type { IdentifierType } from './identifiers.js';
export { identifierTypes, normalizeIdentifier } from './identifiers.js';
export { parseEntityLine } from './index-chunk.js';
export { SnapshotFileError } from './index-snapshot.js';
export { readLineBatches, readWholeLineChunks } from './line-batches.js';
export type { MatchBand, MatchType } from './match-rate.js';
export {
  exactMatchScoreMin,
  looseMatchScoreMin,
  matchBandOf,
  matchRateDefault,
  matchRateMax,
  matchRateMin,
  matchTypeOf,
  resolveMatchRate,
} from './match-rate.js';
export type {
  BulkMatchItem,
  CompanyMatch,
  InvalidEntity,
  MatchExplanation,
  MatcherOptions,
  MatchOptions,
} from './matcher.js';
export {
  ambiguityMarginPoints,
  loadMatcherSnapshot,
  Matcher,
  MatcherBuilder,
  topMax,
} from './matcher.js';
export type { NormalizedName } from './normalize.js';
export { legalFormCode, normalizeName } from './normalize.js';
export type { CompanyRequest, FieldError, ParsedQuery } from './query.js';
export { companyNameLengthMax, parseCompanyRequest, QueryValidationError } from './query.js';
export type { Penalty, ScoreExplanation, TokenAlignment } from './score.js';
export { ScoringFailedError } from './scoring-pool.js';

/**
 * Where a matcher's entities come from: records; an NDJSON file; or NDJSON lines in batches (a catalog's
 * documents), which, like a file's, are parsed in the build's worker threads.
 */
export type EntitySource =
  | { entities: Iterable<CertifiedEntityRecord> | AsyncIterable<CertifiedEntityRecord> }
  | { file: string }
  | { lines: Iterable<string[]> | AsyncIterable<string[]> };

/**
 * Builds a matcher from certified entities. Entities that cannot be indexed are reported through
 * `options.onInvalidEntity` and skipped (positions are 1-based line numbers for a file or lines).
 *
 * @example
 * const matcher = await createMatcher({ entities: [{ ce_id: 'ce_KMi1zsb9CH2EorSzOJ9YEgtV',
 *   certified_entity_name: 'Acme Engineering Limited', country: 'GB' }] }, { threads: 0 });
 */
export async function createMatcher(source: EntitySource, options: MatcherOptions = {}): Promise<Matcher> {
  const builder = new MatcherBuilder(options);
  if ('file' in source) await builder.addFile(source.file, options.onInvalidEntity);
  else if ('lines' in source) await builder.addLines(source.lines, options.onInvalidEntity);
  else await builder.addAll(source.entities, options.onInvalidEntity);
  return builder.build();
}
