/**
 * The Verification API, field for field: match by name and identifiers, in bulk, candidates only, and by id.
 * Each route composes the engine (match), the catalog (the entity and its certificates) and the ledger (the
 * charge); the order of the seed is kept: 401 → 400 → 404 → loose (free) → grace period (free) → one credit.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type CompanyMatch,
  certificateIdPattern,
  certifiedEntityIdPattern,
  type FieldError,
  matchBandOf,
  QueryValidationError,
  topMax,
} from '../engine/index.js';
import type { ApiKeyInfo, Idempotency, VerificationCharge } from '../ledger/index.js';
import { idempotencyOf, itemError, recordVerification, setCreditHeaders } from './charging.js';
import { type ServiceContext, staffOf } from './context.js';
import { notFound, Problem, validationProblem } from './problems.js';
import {
  bulkCompaniesRequestSchema,
  ceIdsRequestSchema,
  companyRequestSchema,
  explainQuerySchema,
  matchCompaniesRequestSchema,
  problemSchema,
} from './schemas.js';

/** Ids in one `GET /company/{ce_id}` (comma-separated). */
export const idsPerPathMax = 100;
/** `match_result_count` when absent. */
export const matchResultCountDefault = 3;

const verification = { access: 'staff', shed: true } as const;
const errorResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  429: problemSchema,
  503: problemSchema,
};
const companyResponse = {
  type: 'object',
  additionalProperties: true,
  description: 'The certified entity with all its certificates, and how it matched',
  properties: {
    ce_id: { type: 'string' },
    matched_certified_entity_name: { type: 'string' },
    match_status: { type: 'string', enum: ['very_high', 'high', 'medium', 'low'] },
    match_type: { type: 'string', enum: ['exactly_matched', 'loosely_matched'] },
    match_score: { type: 'integer', minimum: 0, maximum: 100 },
    certificates: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

/**
 * The company object of the API: how it matched, then the stored entity document with its certificates,
 * spliced as bytes (the document is never decoded or parsed).
 */
function companyJson(
  match: Pick<CompanyMatch, 'matched_certified_entity_name' | 'match_score' | 'match_type' | 'explanation'>,
  entityDocument: Buffer,
  index?: number,
): Buffer {
  const head = JSON.stringify({
    ...(index === undefined ? {} : { companies_request_index: index }),
    matched_certified_entity_name: match.matched_certified_entity_name,
    match_status: matchBandOf(match.match_score),
    match_type: match.match_type,
    match_score: match.match_score,
    ...(match.explanation ? { match_explanation: match.explanation } : {}),
  });
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},`, 'utf8'), entityDocument.subarray(1)]);
}

/** `{"results":[...]}` from JSON pieces, some already bytes. */
function resultsJson(results: (string | Buffer)[]): Buffer {
  const pieces: Buffer[] = [resultsOpen];
  results.forEach((result, i) => {
    if (i > 0) pieces.push(comma);
    pieces.push(typeof result === 'string' ? Buffer.from(result, 'utf8') : result);
  });
  pieces.push(resultsClose);
  return Buffer.concat(pieces);
}
const resultsOpen = Buffer.from('{"results":[');
const resultsClose = Buffer.from(']}');
const comma = Buffer.from(',');

function sendJson(reply: FastifyReply, json: string | Buffer, status = 200): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(json);
}

function explainOf(request: FastifyRequest): boolean {
  return (request.query as { explain?: boolean }).explain === true;
}

/** One matched request, answered: its company JSON and its charge, or the problem it got. */
type Answer =
  | { json: Buffer; charge: VerificationCharge }
  | { problem: Problem; charge?: VerificationCharge };

export function registerVerificationRoutes(app: FastifyInstance, context: ServiceContext): void {
  const { catalog } = context.deps;

  /** Charges (or not) one match result and assembles its answer. */
  const answerMatch = async (
    staff: ApiKeyInfo,
    endpoint: string,
    results: CompanyMatch[],
    idempotency: Idempotency | undefined,
    index?: number,
  ): Promise<Answer> => {
    const best = results[0];
    if (!best) {
      context.metrics.matches.inc({ band: 'none' });
      const charge = await recordVerification(context, staff, endpoint, {
        ceId: null,
        matchType: 'not_found',
      });
      return { problem: notFound('No certified entity matches at or above the match rate.'), charge };
    }
    const entity = catalog.entityDocument(best.ce_id);
    if (entity === undefined) {
      // The index and the catalog disagree (a catalog changed under a running service): answer nothing,
      // charge nothing.
      throw new Error(`entity ${best.ce_id} is in the index but not in the catalog`);
    }
    context.metrics.matches.inc({ band: matchBandOf(best.match_score) });
    const charge = await recordVerification(
      context,
      staff,
      endpoint,
      { ceId: best.ce_id, matchType: best.match_type },
      idempotency,
    );
    return { json: companyJson(best, entity, index), charge };
  };

  /** A failed item of a bulk or multi-id answer, as its problem; anything unexpected fails the request. */
  const asProblem = (error: unknown): Problem => {
    if (error instanceof Problem) return error;
    if (error instanceof QueryValidationError) return validationProblem(error.errors);
    throw error;
  };

  app.post(
    '/company',
    {
      config: verification,
      schema: {
        summary: 'Retrieve a company and its certificates by name and/or identifiers',
        description:
          'One credit per exact match (score 94-100); loose matches, misses and re-checks within the grace period are free.',
        tags: ['verification'],
        body: companyRequestSchema,
        querystring: explainQuerySchema,
        response: { 200: companyResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      const idempotency = idempotencyOf(request);
      // A QueryValidationError becomes its 400 in the app's error handler.
      const results = await context
        .matcher()
        .matchCompany(request.body, { top: 1, explain: explainOf(request) });
      const answer = await answerMatch(staff, '/company', results, idempotency);
      setCreditHeaders(context, reply, staff, answer.charge ? [answer.charge] : []);
      if ('problem' in answer) throw answer.problem;
      return sendJson(reply, answer.json);
    },
  );

  app.post(
    '/bulk-companies',
    {
      config: verification,
      schema: {
        summary: 'Retrieve up to 100 companies and their certificates',
        description:
          'Each result carries companies_request_index. One credit per exactly matched company; an item that fails gets an error, the others are answered.',
        tags: ['verification'],
        body: bulkCompaniesRequestSchema,
        querystring: explainQuerySchema,
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      const body = request.body as { companies: unknown[]; match_rate?: unknown };
      const items = body.companies.map((item) =>
        typeof item === 'object' && item !== null && body.match_rate !== undefined
          ? { ...item, match_rate: body.match_rate }
          : item,
      );
      const idempotencies = items.map((item, index) => idempotencyOf(request, { index, body: item }));
      const matched = await context.matcher().matchCompanies(items, { top: 1, explain: explainOf(request) });
      // Charged together: the ledger's single writer commits them in one transaction, in this order.
      const answers = await Promise.all(
        matched.map(async (item, index): Promise<Answer> => {
          if ('error' in item)
            return { problem: validationProblem((item.error.errors ?? []) as FieldError[]) };
          try {
            return await answerMatch(staff, '/bulk-companies', item.results, idempotencies[index], index);
          } catch (error) {
            return { problem: asProblem(error) };
          }
        }),
      );
      setCreditHeaders(
        context,
        reply,
        staff,
        answers.flatMap((answer) => (answer.charge ? [answer.charge] : [])),
      );
      const results = answers.map((answer, index) =>
        'json' in answer
          ? answer.json
          : JSON.stringify({ companies_request_index: index, error: itemError(answer.problem) }),
      );
      return sendJson(reply, resultsJson(results));
    },
  );

  app.post(
    '/match-companies',
    {
      config: verification,
      schema: {
        summary: 'Candidate companies for a name and/or identifiers, without certificates',
        description: 'Never charged.',
        tags: ['verification'],
        body: matchCompaniesRequestSchema,
        querystring: explainQuerySchema,
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      idempotencyOf(request); // checked like every POST's; nothing here is written
      const requested = (request.body as { match_result_count?: number }).match_result_count;
      const top = Math.min(topMax, Math.max(1, requested ?? matchResultCountDefault));
      const results = await context
        .matcher()
        .matchCompany(request.body, { top, explain: explainOf(request) });
      setCreditHeaders(context, reply, staff, []);
      context.metrics.matches.inc({ band: results[0] ? matchBandOf(results[0].match_score) : 'none' });
      if (results.length === 0) throw notFound('No certified entity matches at or above the match rate.');
      return { results };
    },
  );

  /** Looks up ids and charges one credit per id that returns data, in the order asked. */
  const answerIds = async (
    staff: ApiKeyInfo,
    endpoint: string,
    ids: readonly string[],
  ): Promise<{ answers: (Answer & { ceId: string })[]; charges: VerificationCharge[] }> => {
    const answers = await Promise.all(
      ids.map(async (ceId): Promise<Answer & { ceId: string }> => {
        const entity = catalog.entityDocumentAndName(ceId);
        if (entity === undefined) return { ceId, problem: notFound(`No certified entity ${ceId}.`) };
        try {
          const charge = await recordVerification(context, staff, endpoint, {
            ceId,
            matchType: 'exactly_matched',
          });
          const match = {
            matched_certified_entity_name: entity.name,
            match_score: 100,
            match_type: 'exactly_matched' as const,
          };
          return { ceId, json: companyJson(match, entity.json), charge };
        } catch (error) {
          return { ceId, problem: asProblem(error) };
        }
      }),
    );
    return { answers, charges: answers.flatMap((answer) => (answer.charge ? [answer.charge] : [])) };
  };

  const sendIdAnswers = (reply: FastifyReply, answers: (Answer & { ceId: string })[]): FastifyReply => {
    if (answers.every((answer) => 'problem' in answer && answer.problem.code === 'not_found')) {
      throw notFound('None of the requested certified entities exists.');
    }
    const results = answers.map((answer) =>
      'json' in answer
        ? answer.json
        : JSON.stringify({ ce_id: answer.ceId, error: itemError(answer.problem) }),
    );
    return sendJson(reply, resultsJson(results));
  };

  app.get(
    '/company/:ce_ids',
    {
      config: verification,
      schema: {
        summary: 'Retrieve companies and their certificates by IAF ID (comma-separated, at most 100)',
        description: 'One credit per id that returns data (free again within the grace period).',
        tags: ['verification'],
        params: { type: 'object', properties: { ce_ids: { type: 'string' } }, required: ['ce_ids'] },
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      const ids = (request.params as { ce_ids: string }).ce_ids.split(',').map((id) => id.trim());
      const errors = ids.flatMap((id, i) =>
        certifiedEntityIdPattern.test(id)
          ? []
          : [{ field: `ce_ids[${i}]`, message: 'must be "ce_" followed by 24 letters or digits' }],
      );
      if (ids.length > idsPerPathMax)
        errors.push({ field: 'ce_ids', message: `at most ${idsPerPathMax} ids` });
      if (errors.length > 0) throw validationProblem(errors);
      const { answers, charges } = await answerIds(staff, `/company/{ce_id}`, ids);
      setCreditHeaders(context, reply, staff, charges);
      const [only] = answers;
      if (ids.length === 1 && only) {
        if ('problem' in only) throw only.problem;
        return sendJson(reply, only.json);
      }
      return sendIdAnswers(reply, answers);
    },
  );

  app.post(
    '/bulk-company-by-id',
    {
      config: verification,
      schema: {
        summary: 'Retrieve up to 1,000 companies and their certificates by IAF ID',
        description: 'One credit per id that returns data (free again within the grace period).',
        tags: ['verification'],
        body: ceIdsRequestSchema,
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      idempotencyOf(request);
      const { ce_ids: ids } = request.body as { ce_ids: string[] };
      const { answers, charges } = await answerIds(staff, '/bulk-company-by-id', ids);
      setCreditHeaders(context, reply, staff, charges);
      return sendIdAnswers(reply, answers);
    },
  );

  app.get(
    '/certificate/:cert_id',
    {
      config: verification,
      schema: {
        summary: 'Retrieve one certificate by IAF ID',
        description:
          "One credit on success, charged per company: the certificate verifies the first entity it covers, so it is free within that company's grace period.",
        tags: ['verification'],
        params: {
          type: 'object',
          properties: { cert_id: { type: 'string', pattern: certificateIdPattern.source } },
          required: ['cert_id'],
        },
        response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const staff = staffOf(request);
      const { cert_id: certId } = request.params as { cert_id: string };
      const certificate = catalog.certificateDocument(certId);
      if (certificate === undefined) {
        const charge = await recordVerification(context, staff, '/certificate/{cert_id}', {
          ceId: null,
          matchType: 'not_found',
        });
        setCreditHeaders(context, reply, staff, [charge]);
        throw notFound(`No certificate ${certId}.`);
      }
      const covered = (
        JSON.parse(certificate.toString('utf8')) as { certified_entities?: { ce_id: string }[] }
      ).certified_entities?.[0]?.ce_id;
      const charge = await recordVerification(context, staff, '/certificate/{cert_id}', {
        ceId: covered ?? null,
        matchType: covered ? 'exactly_matched' : 'not_found',
      });
      setCreditHeaders(context, reply, staff, [charge]);
      return sendJson(reply, certificate);
    },
  );
}
