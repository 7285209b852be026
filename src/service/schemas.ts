/**
 * JSON schemas of the routes: they check a request's shape before a handler runs (every failing field is
 * listed) and are what the OpenAPI document at /docs is generated from. The engine checks the meaning
 * (countries, identifiers, match_rate) and lists its own failing fields the same way.
 */
import { creditServices, creditStatuses } from '../ledger/index.js';

const identifierValue = { type: ['string', 'null'], maxLength: 64 } as const;

export const companyRequestSchema = {
  type: 'object',
  properties: {
    company_name: {
      type: ['string', 'null'],
      maxLength: 500,
      description: 'The company as the customer knows it',
    },
    company_country: {
      type: 'string',
      description: 'Country name, ISO 3166 alpha-2 or alpha-3 (Australia, AU, AUS)',
    },
    company_identifiers: {
      type: ['object', 'null'],
      properties: {
        vat: identifierValue,
        tax_id: identifierValue,
        business_registration_number: identifierValue,
        duns_number: identifierValue,
        company_id_number: identifierValue,
      },
    },
    match_rate: {
      description:
        'Threshold 30-100 for returning anything: a number or a string such as "90" or "90%". Default 94; below 30 raised to 30, above 100 capped; not a number: 30.',
    },
  },
  required: ['company_country'],
} as const;

export const matchCompaniesRequestSchema = {
  ...companyRequestSchema,
  properties: {
    ...companyRequestSchema.properties,
    match_result_count: {
      type: 'integer',
      description: 'How many candidates, best first: default 3, 1 to 10 (larger is capped, smaller raised)',
    },
  },
} as const;

export const bulkCompaniesRequestSchema = {
  type: 'object',
  properties: {
    companies: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'object' } },
    match_rate: { description: 'Applies to every item; rules as in POST /company' },
  },
  required: ['companies'],
} as const;

export const ceIdsRequestSchema = {
  type: 'object',
  properties: {
    ce_ids: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { type: 'string', pattern: '^ce_[A-Za-z0-9]{24}$' },
    },
  },
  required: ['ce_ids'],
} as const;

export const explainQuerySchema = {
  type: 'object',
  properties: { explain: { type: 'boolean', description: 'Add how each score was reached' } },
} as const;

export const pageQuerySchema = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

export const creditsQuerySchema = {
  type: 'object',
  properties: {
    ...pageQuerySchema,
    service: { type: 'string', enum: [...creditServices] },
    status: { type: 'string', enum: [...creditStatuses] },
  },
} as const;

export const grantRequestSchema = {
  type: 'object',
  properties: {
    account_id: { type: 'string', minLength: 1 },
    amount: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    service: { type: 'string', enum: [...creditServices] },
    description: { type: 'string', maxLength: 500 },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    priority: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000 },
  },
  required: ['account_id', 'amount'],
  additionalProperties: false,
} as const;

export const creditRecordSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    amount: { type: 'integer' },
    used: { type: 'integer' },
    remaining: { type: 'integer' },
    expiresAt: { type: ['string', 'null'] },
    service: { type: 'string' },
    description: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    status: { type: 'string' },
  },
} as const;

export const problemSchema = {
  type: 'object',
  description: 'Problem details (RFC 9457) with a stable machine code',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
} as const;
