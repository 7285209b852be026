/**
 * The vendor's credits endpoints: credit records of the caller's account (paged, filtered), one record,
 * granting credits (admin), and usage by day, service, staff user or endpoint.
 */
import type { FastifyInstance } from 'fastify';
import type { CreditService, CreditStatus } from '../ledger/index.js';
import { idempotencyOf } from './charging.js';
import { type ServiceContext, staffOf } from './context.js';
import { isLedgerError, notFound, problemOfLedgerError, validationProblem } from './problems.js';
import { creditRecordSchema, creditsQuerySchema, grantRequestSchema, problemSchema } from './schemas.js';

const errorResponses = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

/** The guide's list envelope. */
export function page<T>(rows: readonly T[], limit: number, offset: number) {
  return {
    data: rows.slice(offset, offset + limit),
    meta: {
      total_rows: rows.length,
      total_pages: Math.ceil(rows.length / limit),
      limit,
      offset,
    },
  };
}

function epochOf(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time))
    throw validationProblem([{ field, message: 'must be an ISO 8601 date or date-time' }]);
  return time;
}

export function registerCreditRoutes(app: FastifyInstance, context: ServiceContext): void {
  const { ledger } = context.deps;

  app.get(
    '/v2/credits',
    {
      config: { access: 'staff' },
      schema: {
        summary: "List the account's credit records",
        tags: ['credits'],
        querystring: creditsQuerySchema,
        response: {
          200: {
            type: 'object',
            properties: {
              data: { type: 'array', items: creditRecordSchema },
              meta: { type: 'object', additionalProperties: true },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit, offset, service, status } = request.query as {
        limit: number;
        offset: number;
        service?: CreditService;
        status?: CreditStatus;
      };
      const records = ledger
        .listCredits(staffOf(request).accountId)
        .filter(
          (record) =>
            (service === undefined || record.service === service) &&
            (status === undefined || record.status === status),
        );
      return page(records, limit, offset);
    },
  );

  app.get(
    '/v2/credits/:creditId',
    {
      config: { access: 'staff' },
      schema: {
        summary: 'Retrieve a credit record',
        tags: ['credits'],
        params: { type: 'object', properties: { creditId: { type: 'string' } }, required: ['creditId'] },
        response: { 200: creditRecordSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { creditId } = request.params as { creditId: string };
      const record = ledger.getCredit(staffOf(request).accountId, creditId);
      if (!record) throw notFound('Credit not found');
      return record;
    },
  );

  app.post(
    '/v2/credits',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Grant (buy) credits for an account',
        description: 'Admin key only. With an Idempotency-Key, a retried purchase grants once.',
        tags: ['credits'],
        body: grantRequestSchema,
        response: { 201: creditRecordSchema, 409: problemSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        account_id: string;
        amount: number;
        service?: CreditService;
        description?: string;
        expiresAt?: string | null;
        priority?: number;
      };
      try {
        const record = await ledger.grantCredits(
          {
            accountId: body.account_id,
            amount: body.amount,
            service: body.service,
            description: body.description,
            expiresAt: body.expiresAt ? epochOf('expiresAt', body.expiresAt) : null,
            priority: body.priority,
          },
          idempotencyOf(request),
        );
        return reply.code(201).send(record);
      } catch (error) {
        if (isLedgerError(error)) throw problemOfLedgerError(error);
        throw error;
      }
    },
  );

  app.get(
    '/v2/usage',
    {
      config: { access: 'staff' },
      schema: {
        summary:
          "The account's verifications, charged or not, grouped by day, service, staff user or endpoint",
        tags: ['credits'],
        querystring: {
          type: 'object',
          properties: {
            by: { type: 'string', enum: ['day', 'service', 'staff', 'endpoint'], default: 'day' },
            from: { type: 'string', description: 'ISO date or date-time, inclusive' },
            to: { type: 'string', description: 'ISO date or date-time, exclusive' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              data: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    group: { type: 'string' },
                    verifications: { type: 'integer' },
                    charged: { type: 'integer' },
                    credits: { type: 'integer' },
                    overage: { type: 'integer' },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query as {
        by: 'day' | 'service' | 'staff' | 'endpoint';
        from?: string;
        to?: string;
      };
      const data = ledger.usage(staffOf(request).accountId, {
        by: query.by,
        from: epochOf('from', query.from),
        to: epochOf('to', query.to),
      });
      return { data };
    },
  );
}
