/**
 * An OpenRefine Reconciliation API (v0.2) endpoint, so a spreadsheet user can reconcile a column of company
 * names against the registry: the manifest, and batches of queries answered with candidates scored 0-100
 * (`match` is the exact band). Candidates only: never charged.
 *
 * OpenRefine cannot send headers, so the staff key may travel as `?api_key=` here (and only here); the
 * request log never shows it.
 */
import type { FastifyInstance } from 'fastify';
import { type CompanyMatch, identifierTypes, topMax } from '../engine/index.js';
import type { ServiceContext } from './context.js';
import { validationProblem } from './problems.js';

export const reconcileTypeId = 'certified_entity';
const defaultCandidates = 3;

interface ReconcileQuery {
  query?: unknown;
  type?: unknown;
  limit?: unknown;
  properties?: { pid?: unknown; v?: unknown }[];
}

/** Features from the score's explanation, as the API's `features` list. */
function featuresOf(match: CompanyMatch): { id: string; value: number | boolean }[] {
  const name = match.explanation?.name;
  const features: { id: string; value: number | boolean }[] = [
    { id: 'matched_by_identifier', value: match.matched_by === 'identifier' },
  ];
  if (name) {
    features.push(
      { id: 'token_score', value: name.features.tokenScore },
      { id: 'character_score', value: name.features.characterScore },
      { id: 'penalties', value: name.penalties.length },
      { id: 'same_name_after_normalization', value: name.sameNameAfterNormalization },
    );
  }
  return features;
}

export function registerReconcileRoutes(app: FastifyInstance, context: ServiceContext): void {
  const manifest = (base: string) => ({
    versions: ['0.2'],
    name: 'certmatch: certified entities',
    identifierSpace: `${base}/ce_id`,
    schemaSpace: `${base}/schema`,
    defaultTypes: [{ id: reconcileTypeId, name: 'Certified entity' }],
    // Scores are 0-100 and comparable across queries: the registry's bands (94+ exact, 30-93 loose).
    standardizedScore: true,
    batchSize: 25,
    view: { url: `${base}/company/{{id}}` },
    documentation: `${base}/docs`,
    properties: [
      { id: 'country', name: 'Country (name, alpha-2 or alpha-3); required' },
      ...identifierTypes.map((type) => ({ id: type, name: type })),
    ],
  });

  const answer = async (queries: Record<string, ReconcileQuery>) => {
    const keys = Object.keys(queries);
    const matcher = context.matcher();
    const requests = keys.map((key) => {
      const query = queries[key] ?? {};
      const properties = Array.isArray(query.properties) ? query.properties : [];
      const value = (pid: string) => properties.find((property) => property?.pid === pid)?.v;
      return {
        company_name: typeof query.query === 'string' ? query.query : null,
        company_country: value('country'),
        company_identifiers: Object.fromEntries(identifierTypes.map((type) => [type, value(type) ?? null])),
        match_rate: 30,
      };
    });
    const limits = keys.map((key) => {
      const limit = Number(queries[key]?.limit ?? defaultCandidates);
      return Number.isInteger(limit) ? Math.min(topMax, Math.max(1, limit)) : defaultCandidates;
    });
    const results = await Promise.all(
      requests.map((request, i) =>
        matcher.matchCompany(request, { top: limits[i], explain: true }).catch(() => [] as CompanyMatch[]),
      ),
    );
    return Object.fromEntries(
      keys.map((key, i) => [
        key,
        {
          result: (results[i] as CompanyMatch[]).map((match) => ({
            id: match.ce_id,
            name: match.matched_certified_entity_name,
            score: match.match_score,
            match: match.match_type === 'exactly_matched',
            type: [{ id: reconcileTypeId, name: 'Certified entity' }],
            features: featuresOf(match),
          })),
        },
      ]),
    );
  };

  const parseQueries = (raw: unknown): Record<string, ReconcileQuery> | undefined => {
    if (raw === undefined) return undefined;
    let parsed: unknown = raw;
    if (typeof raw === 'string') {
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw validationProblem([{ field: 'queries', message: 'must be a JSON object of queries' }]);
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw validationProblem([{ field: 'queries', message: 'must be a JSON object of queries' }]);
    }
    const queries = parsed as Record<string, ReconcileQuery>;
    if (Object.keys(queries).length > 100) {
      throw validationProblem([{ field: 'queries', message: 'at most 100 queries per batch' }]);
    }
    for (const [key, query] of Object.entries(queries)) {
      if (typeof query !== 'object' || query === null || Array.isArray(query)) {
        throw validationProblem([{ field: `queries.${key}`, message: 'must be an object with a "query"' }]);
      }
    }
    return queries;
  };

  const handle = async (request: { protocol: string; host: string }, raw: unknown) => {
    const queries = parseQueries(raw);
    if (queries === undefined) return manifest(`${request.protocol}://${request.host}`);
    return answer(queries);
  };

  const config = { access: 'staff', keyInQuery: true, shed: true } as const;
  const schema = {
    summary: 'OpenRefine Reconciliation API v0.2: the manifest, or candidates for a batch of queries',
    description:
      'Without "queries": the manifest. With queries (form field or JSON): candidates scored 0-100, match = exact band. Never charged. The key may be passed as ?api_key=.',
    tags: ['reconciliation'],
  };
  app.get('/reconcile', { config, schema }, async (request) =>
    handle(request, (request.query as { queries?: string }).queries),
  );
  app.post('/reconcile', { config, schema }, async (request) =>
    handle(request, (request.body as { queries?: unknown } | undefined)?.queries),
  );
}
