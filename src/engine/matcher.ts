/**
 * The matcher: builds the in-memory index from certified entities and answers match queries.
 *
 * @internal Use the front door, `src/engine/index.ts`.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { Piscina } from 'piscina';
import { workerLocation } from '../runtime/worker-location.js';
import { CandidateIndex, CandidateIndexBuilder, defaultCandidateIndexOptions } from './candidate-index.js';
import {
  type BuildTask,
  type BuildWorkerData,
  buildSlotBytes,
  buildSlotCount,
  isSlotted,
  type SlottedChunk,
  takeFromSlot,
} from './chunk-slots.js';
import { explainNames, type ScoreOptions, scoreNames } from './compare-names.js';
import type { CertifiedEntityRecord } from './entity-record.js';
import { IdentifierIndex } from './identifiers.js';
import {
  type IndexChunkInput,
  indexedFieldsOf,
  type PreparedChunk,
  prepareIndexChunk,
  rangeOf,
  WordDictionary,
} from './index-chunk.js';
import { indexSnapshot, SnapshotFileError, SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import { readWholeLineChunks } from './line-batches.js';
import { exactMatchScoreMin, type MatchType, matchTypeOf } from './match-rate.js';
import { NameStore, NameStoreBuilder } from './name-store.js';
import { warmUpNormalizer } from './normalize.js';
import { PackedStrings } from './packed-strings.js';
import { type ParsedQuery, parseCompanyRequest, QueryValidationError } from './query.js';
import { explainScore, looseScoreMax, type ScoreExplanation, sortKeyOf } from './score.js';
import { defaultScoringPoolOptions, ScoringPool } from './scoring-pool.js';
import { StringHashIndex } from './string-hash-index.js';

/** Options for {@link createMatcher}; every field is optional. */
export interface MatcherOptions {
  /** Scoring worker threads; 0 scores on the calling thread. Default 2. */
  threads?: number;
  /** Name records scored per query. Default 24. */
  candidatesMax?: number;
  /** Posting lists longer than this are treated as common words. Default 1,500. */
  postingsMax?: number;
  /** Candidate pairs per worker task. Default 1,024. */
  batchPairsTarget?: number;
  /** Retries of a task whose worker died. Default 2. */
  retriesMax?: number;
  /** Called for each entity that cannot be indexed; the entity is skipped and the build goes on. */
  onInvalidEntity?: (problem: InvalidEntity) => void;
}

export interface InvalidEntity {
  /** 1-based line of the entity file, or 0-based position in an entity iterable. */
  position: number;
  message: string;
}

type ResolvedMatcherOptions = Required<Omit<MatcherOptions, 'onInvalidEntity'>> &
  Pick<MatcherOptions, 'onInvalidEntity'>;

const defaultMatcherOptions: Required<Omit<MatcherOptions, 'onInvalidEntity'>> = {
  threads: defaultScoringPoolOptions.threads,
  candidatesMax: defaultCandidateIndexOptions.candidatesMax,
  postingsMax: defaultCandidateIndexOptions.postingsMax,
  batchPairsTarget: defaultScoringPoolOptions.batchPairsTarget,
  retriesMax: defaultScoringPoolOptions.retriesMax,
};

/** Results per query at most; `match-companies` allows 10. */
export const topMax = 10;
/**
 * Two different entities in the exact band closer than this cannot be told apart: neither is exact.
 * (Same name, one with the query's legal form scores 100 against 97 for one without: 3 points apart.)
 */
export const ambiguityMarginPoints = 3;

function resolveOptions(options: MatcherOptions): ResolvedMatcherOptions {
  const resolved = { ...defaultMatcherOptions, ...options };
  const positiveInteger = (name: keyof typeof defaultMatcherOptions, min: number) => {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`options.${name} must be an integer ≥ ${min}, got ${String(value)}`);
    }
  };
  positiveInteger('threads', 0);
  positiveInteger('candidatesMax', 1);
  positiveInteger('postingsMax', 1);
  positiveInteger('batchPairsTarget', 1);
  positiveInteger('retriesMax', 0);
  return resolved;
}

/** One ranked answer to a query. */
export interface CompanyMatch {
  ce_id: string;
  matched_certified_entity_name: string;
  match_score: number;
  match_type: MatchType;
  /** How the entity was found: an exact identifier lookup or the name. */
  matched_by: 'identifier' | 'name';
  explanation?: MatchExplanation;
}

export interface MatchOptions {
  /** How many results at most, best first (1–10). Default 1. */
  top?: number;
  /** Attach to each result how its score was reached. */
  explain?: boolean;
}

/** How a result's score was reached. */
export interface MatchExplanation {
  matched_by: 'identifier' | 'name';
  /** The identifier type that matched, for identifier matches. */
  identifier?: string;
  /** The comparison of the query's name with the entity's best-scoring name, when a name was given. */
  name?: ScoreExplanation;
  /** Set when another entity scored within the ambiguity margin and the exact band was withheld. */
  ambiguous?: boolean;
}

/** One item of a bulk answer: results, or the error that item's request got. */
export type BulkMatchItem =
  | { companies_request_index: number; results: CompanyMatch[] }
  | { companies_request_index: number; error: { code: string; message: string; errors?: unknown } };

interface ScoredEntity {
  entity: number;
  score: number;
  /** Ranks results with equal scores: the score plus the uncapped similarity / 1,000. */
  sortKey: number;
  matchedBy: 'identifier' | 'name';
  /** The entity's best-scoring name record, when the query had a name and retrieval found it. */
  record?: number;
  identifierType?: string;
  ambiguous?: boolean;
}

/** Builds the index incrementally; {@link MatcherBuilder.build} freezes it into a {@link Matcher}. */
export class MatcherBuilder {
  readonly #names = new NameStoreBuilder();
  readonly #candidates = new CandidateIndexBuilder();
  readonly #identifiers = new IdentifierIndex();
  readonly #entityIds = new PackedStrings();
  readonly #entityNames = new PackedStrings();
  /**
   * ce_id → entity, to refuse duplicates; dropped once the index is built. Its keys are `#entityIds`:
   * adding an entity's ce_id here stores it there.
   */
  readonly #entityIndexById = new StringHashIndex({ keys: this.#entityIds });
  /** Prepares chunks on this thread when the build has no workers (and for `add`). */
  readonly #dictionary = new WordDictionary();
  readonly #options: ResolvedMatcherOptions;

  constructor(options: MatcherOptions = {}) {
    this.#options = resolveOptions(options);
    warmUpNormalizer();
  }

  /** Adds one entity; returns an error message instead when it cannot be indexed. */
  add(entity: CertifiedEntityRecord): string | undefined {
    let problem: string | undefined;
    const chunk = prepareIndexChunk({ entities: [indexedFieldsOf(entity)] }, this.#dictionary);
    this.#candidates.learnWords(chunk);
    this.#link(chunk, 0, (found) => {
      problem = found.message;
    });
    return problem;
  }

  /**
   * Adds every entity of a source. With worker threads, chunks of entities are prepared (names normalized,
   * keys made) in a build pool while this thread links the previous chunk into the index: the two halves
   * of the build run on both cores. Entities that cannot be indexed are reported through `onInvalid` and
   * skipped.
   */
  async addAll(
    source: Iterable<CertifiedEntityRecord> | AsyncIterable<CertifiedEntityRecord>,
    onInvalid: (problem: InvalidEntity) => void = () => {},
    firstPosition = 0,
  ): Promise<void> {
    let position = firstPosition;
    const total = Array.isArray(source) ? source.length : 0;
    const inputs = mapChunks(chunksOf(source, buildChunkEntities), (entities) => {
      const first = position;
      position += entities.length;
      return {
        input: { entities: entities.map(indexedFieldsOf) },
        first,
        share: total > 0 ? entities.length / total : undefined,
      };
    });
    await this.#addChunks(inputs, onInvalid);
  }

  /**
   * Adds the entities of an NDJSON file; positions reported through `onInvalid` are 1-based line numbers.
   * Lines are parsed in the build pool too.
   */
  async addFile(path: string, onInvalid: (problem: InvalidEntity) => void = () => {}): Promise<void> {
    let lineNumber = 1;
    const fileBytes = (await stat(path)).size;
    // Undecoded: the workers decode only the part of each line they parse.
    const inputs = mapChunks(readWholeLineChunks(path), ({ bytes, lines }) => {
      const first = lineNumber;
      lineNumber += lines;
      return { input: { bytes }, first, share: fileBytes > 0 ? bytes.length / fileBytes : undefined };
    });
    await this.#addChunks(inputs, onInvalid);
  }

  /**
   * Adds entities given as NDJSON lines, in batches; positions reported through `onInvalid` are 1-based
   * line numbers across the batches. Blank lines are skipped.
   */
  async addLines(
    batches: Iterable<string[]> | AsyncIterable<string[]>,
    onInvalid: (problem: InvalidEntity) => void = () => {},
  ): Promise<void> {
    let lineNumber = 1;
    const inputs = mapChunks(batches, (lines) => {
      const first = lineNumber;
      lineNumber += lines.length;
      return { input: { lines }, first };
    });
    await this.#addChunks(inputs, onInvalid);
  }

  /**
   * Prepares and links chunks in order. A chunk's `share` is the part of the whole source it is, when the
   * source's size is known (a file, an array): once enough is linked to tell, the tables make room for the
   * rest at once (see {@link reserveForTheRest}). Only into an empty builder: what the tables hold is then
   * what this source added, which is what they extrapolate.
   */
  async #addChunks(
    inputs: AsyncIterable<{ input: IndexChunkInput; first: number; share?: number | undefined }>,
    onInvalid: (problem: InvalidEntity) => void,
  ): Promise<void> {
    let linkedShare = 0;
    let reserved = this.entityCount > 0;
    const linked = (share: number | undefined) => {
      if (reserved || share === undefined) return;
      linkedShare += share;
      if (this.entityCount < reserveAfterEntities) return;
      reserved = true;
      this.#reserveForTheRest(linkedShare);
    };
    if (this.#options.threads === 0) {
      for await (const { input, first, share } of inputs) {
        const chunk = prepareIndexChunk(input, this.#dictionary);
        this.#candidates.learnWords(chunk);
        this.#link(chunk, first, onInvalid);
        linked(share);
      }
      return;
    }
    const { filename, execArgv } = workerLocation('index-chunk-worker', import.meta.url);
    const workerData: BuildWorkerData = {
      slots: Array.from({ length: buildChunksInFlightMax }, () => new SharedArrayBuffer(buildSlotBytes)),
    };
    const pool = new Piscina({
      filename,
      execArgv,
      workerData,
      minThreads: this.#options.threads,
      maxThreads: this.#options.threads,
      // Each worker holds its share of the chunks in flight in its own queue. With one task per worker, a
      // worker that finished waited for this thread to hand it the next, which it cannot do while linking.
      concurrentTasksPerWorker: Math.ceil(buildChunksInFlightMax / this.#options.threads),
    });
    const inFlight: { first: number; share: number | undefined; prepared: Promise<PreparedChunk> }[] = [];
    const linkOldest = async () => {
      const oldest = inFlight.shift();
      if (!oldest) return;
      this.#link(await oldest.prepared, oldest.first, onInvalid);
      linked(oldest.share);
    };
    let sent = 0;
    try {
      for await (const { input, first, share } of inputs) {
        // The slot of the chunk sent buildChunksInFlightMax chunks ago. It is linked by now: the loop links the
        // oldest chunk whenever that many are in flight, so fewer are unlinked when this one is sent.
        const task: BuildTask<IndexChunkInput> = { input, slot: sent++ % buildChunksInFlightMax };
        // Words are learnt as results arrive, in the order each worker prepared them (see WordDictionary).
        // A file's chunk is transferred, not copied: its ArrayBuffer is its own (see readWholeLineChunks).
        const transferList = 'bytes' in input ? [input.bytes.buffer as ArrayBuffer] : undefined;
        const prepared = (pool.run(task, { transferList }) as Promise<PreparedChunk | SlottedChunk>).then(
          (result) => {
            const chunk = isSlotted(result) ? takeFromSlot(result, workerData.slots) : result;
            this.#candidates.learnWords(chunk);
            return chunk;
          },
        );
        inFlight.push({ first, share, prepared });
        if (inFlight.length >= buildChunksInFlightMax) await linkOldest();
      }
      while (inFlight.length > 0) await linkOldest();
    } finally {
      // A chunk still in flight after a failure is abandoned: wait for it so its rejection is not unhandled.
      await Promise.allSettled(inFlight.map(({ prepared }) => prepared));
      await pool.destroy();
    }
  }

  /**
   * Links a prepared chunk into the index, in item order; `first` is the position of its item 0. Problems
   * (the chunk's own and duplicate ce_ids) are reported in item order.
   */
  #link(chunk: PreparedChunk, first: number, onInvalid: (problem: InvalidEntity) => void): void {
    const problems = chunk.problems.slice();
    const entities = chunk.items.length;
    // Entities are linked in runs between duplicate ce_ids (a run is usually the whole chunk), so that each
    // table copies a run's bytes at once. An entity's ce_id is taken for the id it is about to get.
    let runStart = 0;
    for (let e = 0; e <= entities; e++) {
      const entity = this.#names.nextEntity + e - runStart;
      if (
        e < entities &&
        this.#entityIndexById.addPackedIfAbsent(chunk.ceIds, e, chunk.ceIdHashes[e] as number, entity)
      )
        continue;
      this.#linkRun(chunk, runStart, e);
      runStart = e + 1;
      if (e === entities) break;
      const { bytes, offsets } = chunk.ceIds;
      const ceId = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
        'latin1',
        offsets[e],
        offsets[e + 1],
      );
      problems.push({ item: chunk.items[e] as number, message: `duplicate ce_id ${ceId}` });
    }
    if (problems.length > chunk.problems.length) problems.sort((a, b) => a.item - b.item);
    for (const { item, message } of problems) onInvalid({ position: first + item, message });
  }

  /** Links entities `first` to `end` (exclusive) of a chunk, none of them a duplicate. */
  #linkRun(chunk: PreparedChunk, first: number, end: number): void {
    if (first === end) return;
    const firstEntity = this.#names.addEntities(chunk.countries, first, end);
    this.#entityNames.pushRangeFrom(chunk.displayNames, first, end);
    // Each name record's and identifier's entity.
    const recordsStart = rangeOf(chunk.recordsEnd, first)[0];
    const recordEntities = new Int32Array((chunk.recordsEnd[end - 1] as number) - recordsStart);
    const identifiersStart = rangeOf(chunk.identifiersEnd, first)[0];
    const identifierEntities = new Int32Array((chunk.identifiersEnd[end - 1] as number) - identifiersStart);
    for (let e = first, record = 0, identifier = 0; e < end; e++) {
      const entity = firstEntity + e - first;
      for (const recordsEnd = (chunk.recordsEnd[e] as number) - recordsStart; record < recordsEnd; record++)
        recordEntities[record] = entity;
      for (
        const identifiersEnd = (chunk.identifiersEnd[e] as number) - identifiersStart;
        identifier < identifiersEnd;
        identifier++
      )
        identifierEntities[identifier] = entity;
    }
    const firstRecord = this.#names.addRecordsFrom(
      chunk.texts,
      chunk.legalForms,
      recordsStart,
      recordsStart + recordEntities.length,
      recordEntities,
    );
    this.#candidates.addRecords(chunk, first, end, firstRecord);
    this.#identifiers.addPackedRange(
      chunk.identifiers,
      identifiersStart,
      identifiersStart + identifierEntities.length,
      chunk.identifierHashes,
      identifierEntities,
    );
  }

  get entityCount(): number {
    return this.#entityIds.size;
  }

  /**
   * Makes room in every growing table for what the rest of the source will add, extrapolated from what
   * `linkedShare` of it added, with a quarter to spare (exact-key tables also size their buckets for the
   * extrapolation itself, see `StringHashIndex.reserveScaled`). Grown by doubling, a table of a million entries
   * is copied a dozen times and its memory touched twice over; the linking thread spent a tenth of its
   * time on that, most of it the kernel handing out fresh pages. Room never used costs address space only.
   */
  #reserveForTheRest(linkedShare: number): void {
    const expectedFactor = 1 / linkedShare;
    const factor = expectedFactor * 1.25;
    if (!(factor > 1.5) || !Number.isFinite(factor)) return;
    this.#entityNames.reserveScaled(factor);
    this.#entityIndexById.reserveScaled(factor); // and #entityIds, its keys
    this.#identifiers.reserveScaled(factor, expectedFactor);
    this.#names.reserveScaled(factor);
    this.#candidates.reserveScaled(factor, expectedFactor);
  }

  build(): Matcher {
    // Linked here, as the candidate index links its tables, so that "built" means ready: the first query
    // with an identifier otherwise linked ~1.4M of them (~0.3 s at 1M entities).
    this.#identifiers.link();
    return new Matcher(
      {
        names: this.#names.build(),
        candidates: this.#candidates.build({
          candidatesMax: this.#options.candidatesMax,
          postingsMax: this.#options.postingsMax,
        }),
        identifiers: this.#identifiers,
        entityIds: this.#entityIds,
        entityNames: this.#entityNames,
      },
      this.#options,
    );
  }
}

/** Consecutive chunks of `size` items; a synchronous source is read without a promise per item. */
async function* chunksOf<T>(source: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  if (Symbol.iterator in source) {
    for (const item of source) {
      chunk.push(item);
      if (chunk.length < size) continue;
      yield chunk;
      chunk = [];
    }
  } else {
    for await (const item of source) {
      chunk.push(item);
      if (chunk.length < size) continue;
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function* mapChunks<T, U>(
  chunks: Iterable<T> | AsyncIterable<T>,
  map: (chunk: T) => U,
): AsyncGenerator<U> {
  for await (const chunk of chunks) yield map(chunk);
}

/**
 * Loads a matcher from an index snapshot written by {@link Matcher.saveSnapshot}.
 *
 * @throws {SnapshotFileError} when there is no usable snapshot (missing, damaged, written by other engine
 * code, or tagged for other entities): build the index from the entities instead.
 */
export function loadMatcherSnapshot(path: string, tag: string, options: MatcherOptions = {}): Matcher {
  const resolved = resolveOptions(options);
  const snapshot = new SnapshotReader(path, indexSnapshot(tag));
  let index: IndexParts;
  try {
    index = {
      names: NameStore.loadFrom(snapshot, 'names'),
      candidates: CandidateIndex.loadFrom(snapshot, 'candidates', {
        candidatesMax: resolved.candidatesMax,
        postingsMax: resolved.postingsMax,
      }),
      identifiers: IdentifierIndex.loadFrom(snapshot, 'identifiers'),
      entityIds: PackedStrings.loadFrom(snapshot, 'entityIds'),
      entityNames: PackedStrings.loadFrom(snapshot, 'entityNames'),
    };
  } catch (error) {
    if (error instanceof SnapshotFileError) throw error;
    // The digest matched, so this is a snapshot this code cannot decode: rebuilding is always safe.
    throw new SnapshotFileError('damaged', `${path} could not be decoded: ${(error as Error).message}`);
  }
  return new Matcher(index, resolved);
}

/** Entities per build-pool task: ~1,600 name records, well above the ~70 µs round trip. */
const buildChunkEntities = 1024;
/**
 * Chunks normalized ahead of the indexing thread: enough to keep both workers busy, bounded memory. Each has
 * a slot of its own to come back through.
 */
const buildChunksInFlightMax = buildSlotCount;
/** Entities linked before the tables extrapolate their size: enough for an average, early in a big build. */
const reserveAfterEntities = 4_096;

/** What a built index consists of: everything a snapshot holds. */
interface IndexParts {
  names: NameStore;
  candidates: CandidateIndex;
  identifiers: IdentifierIndex;
  entityIds: PackedStrings;
  entityNames: PackedStrings;
}

type MatcherParts = IndexParts & { pool: ScoringPool };

export class Matcher {
  readonly #parts: MatcherParts;
  #closed = false;

  /** @internal Use {@link createMatcher}, {@link MatcherBuilder} or {@link loadMatcherSnapshot}. */
  constructor(index: IndexParts, options: ResolvedMatcherOptions) {
    const pool = new ScoringPool(index.names, {
      threads: options.threads,
      batchPairsTarget: options.batchPairsTarget,
      retriesMax: options.retriesMax,
    });
    this.#parts = { ...index, pool };
  }

  /**
   * Saves the built index to one file, written atomically, so that the next start loads it instead of
   * building (at 1M entities: seconds instead of ~40 s). `tag` names the entities it was built from (a
   * catalog passes its content id); {@link loadMatcherSnapshot} refuses a snapshot with another tag.
   */
  saveSnapshot(path: string, tag: string): void {
    assert.ok(!this.#closed, 'the matcher is closed');
    const snapshot = new SnapshotWriter();
    this.#parts.names.saveTo(snapshot, 'names');
    this.#parts.candidates.saveTo(snapshot, 'candidates');
    this.#parts.identifiers.saveTo(snapshot, 'identifiers');
    this.#parts.entityIds.saveTo(snapshot, 'entityIds');
    this.#parts.entityNames.saveTo(snapshot, 'entityNames');
    snapshot.writeFile(path, indexSnapshot(tag));
  }

  /** Entities in the index. */
  get entityCount(): number {
    return this.#parts.entityIds.size;
  }

  get stats() {
    return {
      entities: this.#parts.entityIds.size,
      nameRecords: this.#parts.names.recordCount,
      vocabularySize: this.#parts.candidates.vocabularySize,
      identifiers: this.#parts.identifiers.size,
      pool: this.#parts.pool.stats,
    };
  }

  /** @internal The scoring pool, for tests that kill a worker. */
  get scoringPool(): ScoringPool {
    return this.#parts.pool;
  }

  /**
   * Finds the certified entity a request means. Results are best first, only those at or above the
   * request's `match_rate`; an empty array means not found.
   *
   * @throws {QueryValidationError} when the request is malformed.
   */
  async matchCompany(request: unknown, options: MatchOptions = {}): Promise<CompanyMatch[]> {
    assert.ok(!this.#closed, 'the matcher is closed');
    const top = resolveTop(options.top);
    const query = parseCompanyRequest(request);
    const scored = await this.#scoreQuery(query);
    return scored
      .filter((candidate) => candidate.score >= query.matchRate)
      .slice(0, top)
      .map((candidate) => this.#toMatch(candidate, options.explain === true ? query : undefined));
  }

  /**
   * Matches many requests; each item carries its `companies_request_index`, and a malformed request gets an
   * `error` without failing the others.
   */
  async matchCompanies(requests: readonly unknown[], options: MatchOptions = {}): Promise<BulkMatchItem[]> {
    return Promise.all(
      requests.map(async (request, index): Promise<BulkMatchItem> => {
        try {
          return { companies_request_index: index, results: await this.matchCompany(request, options) };
        } catch (error) {
          if (error instanceof QueryValidationError) {
            return {
              companies_request_index: index,
              error: { code: error.code, message: error.message, errors: error.errors },
            };
          }
          throw error;
        }
      }),
    );
  }

  /** The candidate entities (ce_ids) retrieval hands to scoring; for recall measurements. */
  candidateIds(request: unknown): string[] {
    const query = parseCompanyRequest(request);
    if (!query.name) return [];
    const entities = new Set(
      this.#parts.candidates
        .candidates(query.country, query.name.tokens)
        .map((r) => this.#parts.names.entityOf(r)),
    );
    return [...entities].map((entity) => this.#parts.entityIds.get(entity));
  }

  async #scoreQuery(query: ParsedQuery): Promise<ScoredEntity[]> {
    const byIdentifier = new Map<number, string>();
    for (const identifier of query.identifiers) {
      for (const entity of this.#parts.identifiers.lookup(identifier.type, query.country, identifier.value)) {
        if (!byIdentifier.has(entity)) byIdentifier.set(entity, identifier.type);
      }
    }
    const scored = new Map<number, ScoredEntity>();
    if (query.name) {
      const records = this.#parts.candidates.candidates(query.country, query.name.tokens);
      const scores = await this.#parts.pool.score({ ...query.name, country: query.country }, records);
      records.forEach((record, i) => {
        const entity = this.#parts.names.entityOf(record);
        const sortKey = scores[i] as number;
        const previous = scored.get(entity);
        if (!previous || sortKey > previous.sortKey) {
          scored.set(entity, { entity, score: Math.floor(sortKey), sortKey, matchedBy: 'name', record });
        }
      });
    }
    // An identifier in the stated country identifies the company: exact, whatever the name says. Two
    // entities sharing one (a group VAT number) identify neither: both are held at the top of the loose band.
    for (const [entity, identifierType] of byIdentifier) {
      const score = byIdentifier.size === 1 ? 100 : looseScoreMax;
      const nameSortKey = scored.get(entity)?.sortKey ?? 0;
      // Among several entities sharing an identifier, the name decides the order.
      const sortKey = sortKeyOf(score, score === 100 ? 0 : nameSortKey);
      scored.set(entity, {
        ...scored.get(entity),
        entity,
        score,
        sortKey,
        matchedBy: 'identifier',
        identifierType,
      });
    }
    const ranked = [...scored.values()].sort((a, b) => b.sortKey - a.sortKey || a.entity - b.entity);
    if (byIdentifier.size === 1) keepIdentifierMatchAlone(ranked);
    else demoteAmbiguousExactMatches(ranked);
    return ranked;
  }

  #toMatch(candidate: ScoredEntity, explainFor: ParsedQuery | undefined): CompanyMatch {
    const matchType = matchTypeOf(candidate.score);
    assert.ok(matchType !== undefined, 'results below the minimum match rate are filtered before this point');
    const match: CompanyMatch = {
      ce_id: this.#parts.entityIds.get(candidate.entity),
      matched_certified_entity_name: this.#parts.entityNames.get(candidate.entity),
      match_score: candidate.score,
      match_type: matchType,
      matched_by: candidate.matchedBy,
    };
    if (explainFor) match.explanation = this.#explain(candidate, explainFor);
    return match;
  }

  #explain(candidate: ScoredEntity, query: ParsedQuery): MatchExplanation {
    const explanation: MatchExplanation = { matched_by: candidate.matchedBy };
    if (candidate.identifierType !== undefined) explanation.identifier = candidate.identifierType;
    if (candidate.ambiguous) explanation.ambiguous = true;
    if (query.name && candidate.record !== undefined) {
      explanation.name = explainScore(
        { ...query.name, country: query.country },
        this.#parts.names.scoringName(candidate.record),
      );
    }
    return explanation;
  }

  /** The 0–100 similarity of two names, as this matcher scores a query against a candidate. */
  score(a: string, b: string, options: ScoreOptions = {}): number {
    return scoreNames(a, b, options);
  }

  /** How {@link Matcher.score} reached its score: aligned tokens, each feature, each penalty. */
  explain(a: string, b: string, options: ScoreOptions = {}): ScoreExplanation {
    return explainNames(a, b, options);
  }

  /** Stops the worker pool. Pending queries finish first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#parts.pool.close();
  }
}

/** Takes a result out of the exact band, keeping its place among the others. */
function holdAtTopOfLooseBand(candidate: ScoredEntity): void {
  candidate.score = looseScoreMax;
  candidate.sortKey = sortKeyOf(looseScoreMax, candidate.sortKey);
}

/**
 * The identifier wins over the name: when it identified one company, no other result may be exact, even one
 * whose name equals the query's.
 */
function keepIdentifierMatchAlone(ranked: ScoredEntity[]): void {
  for (const candidate of ranked) {
    if (candidate.matchedBy === 'identifier' || candidate.score <= looseScoreMax) continue;
    holdAtTopOfLooseBand(candidate);
  }
}

/**
 * When two different entities both reach the exact band within {@link ambiguityMarginPoints}, the query does
 * not say which company it means: charging for either could charge for the wrong one, so both drop to the top
 * of the loose band. The ranking is kept.
 */
function demoteAmbiguousExactMatches(ranked: ScoredEntity[]): void {
  const [first, second] = ranked;
  if (
    !first ||
    !second ||
    second.score < exactMatchScoreMin ||
    first.score - second.score >= ambiguityMarginPoints
  ) {
    return;
  }
  for (const candidate of ranked) {
    if (candidate.score >= exactMatchScoreMin && first.score - candidate.score < ambiguityMarginPoints) {
      holdAtTopOfLooseBand(candidate);
      candidate.ambiguous = true;
    }
  }
}

function resolveTop(top: number | undefined): number {
  if (top === undefined) return 1;
  if (!Number.isInteger(top) || top < 1 || top > topMax) {
    throw new RangeError(`top must be an integer from 1 to ${topMax}, got ${String(top)}`);
  }
  return top;
}
