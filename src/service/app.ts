/**
 * The verification service as a Fastify app that never listens: tests drive it with `inject`, the server
 * (`server.ts`) listens. It composes the engine, the catalog and the ledger and adds no matching or ledger
 * logic of its own.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { type FieldError, type Matcher, QueryValidationError } from '../engine/index.js';
import {
  defaultServiceOptions,
  type ServiceContext,
  type ServiceDeps,
  type ServiceOptions,
} from './context.js';
import { ServiceMetrics } from './metrics.js';
import {
  isLedgerError,
  Problem,
  type ProblemCode,
  problemOfLedgerError,
  unauthorized,
  validationProblem,
} from './problems.js';
import { registerCreditRoutes } from './routes-credits.js';
import { registerOperationRoutes } from './routes-operations.js';
import { registerReconcileRoutes } from './routes-reconcile.js';
import { registerVerificationRoutes } from './routes-verification.js';
import { registerWebhookRoutes } from './routes-webhooks.js';

const requestIdPattern = /^[\w.:-]{1,128}$/;

/** How long closing waits for handlers still answering. */
const closeWaitMs = 10_000;

class OverloadedProblem extends Problem {
  constructor() {
    super(503, 'overloaded', 'The service is overloaded; retry shortly.', undefined, { 'retry-after': '1' });
  }
}

/** The path of a request without its query string: problem `instance`s and logs never carry `api_key`. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** `/companies/3/company_name` → `companies[3].company_name`. */
function fieldOf(
  error: { instancePath: string; params?: Record<string, unknown> },
  context?: string,
): string {
  let field = error.instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  const extra = error.params?.missingProperty ?? error.params?.additionalProperty;
  if (typeof extra === 'string') field = field ? `${field}.${extra}` : extra;
  if (field === '') return context ?? 'body';
  return context && context !== 'body' ? `${context}.${field}` : field;
}

const codeOfStatus: Partial<Record<number, ProblemCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'overloaded',
};

/** Every error as a problem; anything unexpected is a 500 that says nothing of the internals. */
function problemOf(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof QueryValidationError) return validationProblem(error.errors);
  if (isLedgerError(error)) return problemOfLedgerError(error);
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors: FieldError[] = fastifyError.validation.map((failure) => ({
      field: fieldOf(
        failure as { instancePath: string; params?: Record<string, unknown> },
        fastifyError.validationContext,
      ),
      message: failure.message ?? 'is invalid',
    }));
    return validationProblem(errors);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = codeOfStatus[status] ?? 'validation_error';
    const detail =
      status === 400 ? `The request body is not valid: ${fastifyError.message}` : fastifyError.message;
    return new Problem(
      status,
      code,
      detail,
      code === 'validation_error' ? [{ field: 'body', message: fastifyError.message }] : undefined,
    );
  }
  return new Problem(
    500,
    'internal_error',
    `The request failed on our side. Quote request id ${request.id} to support.`,
  );
}

export async function buildApp(
  deps: ServiceDeps,
  serviceOptions: ServiceOptions = {},
): Promise<FastifyInstance> {
  // An option given as undefined keeps its default.
  const given = Object.fromEntries(Object.entries(serviceOptions).filter(([, value]) => value !== undefined));
  const options = { ...defaultServiceOptions, ...given } as ServiceContext['options'];
  let matcher: Matcher | undefined;
  let loadFailure: unknown;
  const ready = Promise.resolve(deps.matcher).then(
    (loaded) => {
      matcher = loaded;
    },
    (error: unknown) => {
      loadFailure = error;
    },
  );
  const metrics = new ServiceMetrics({
    ledgerQueueDepth: () => deps.ledger.queueDepth,
    poolUtilization: () => matcher?.stats.pool.utilization ?? 0,
  });
  const context: ServiceContext = {
    deps,
    options,
    metrics,
    matcher() {
      if (matcher) return matcher;
      throw new Problem(503, 'not_ready', 'The matching index is still loading.', undefined, {
        'retry-after': '5',
      });
    },
  };

  const app = Fastify({
    logger:
      options.logger === undefined || options.logger === false
        ? false
        : {
            ...(typeof options.logger === 'object' ? options.logger : {}),
            serializers: {
              req: (request: FastifyRequest) => ({
                method: request.method,
                url: pathOf(request.url),
                id: request.id,
              }),
            },
          },
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
    // A HEAD on GET /company/{ce_id} would run the charging handler and drop the body: no HEAD routes.
    exposeHeadRoutes: false,
    // Plugins register while a large index may be building on this thread: do not time them out.
    pluginTimeout: 0,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true } },
  });
  app.decorateRequest('staff', undefined);
  ready.then(() => {
    if (loadFailure) app.log.error({ err: loadFailure }, 'the matching index failed to load');
  });

  // OpenRefine posts its queries as a form.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'certmatch Verification API',
        version: '1.0.0',
        description:
          'Find the certified entity a company name or identifier means, score it 0-100, and return it with its certificates. One credit per exactly matched company (score 94-100); loose matches, misses and re-checks within the grace period are free.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-http-authorization' },
        },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(rateLimit, {
    global: true,
    max: options.rateLimitMax,
    timeWindow: options.rateLimitWindowMs,
    keyGenerator: (request) => {
      const key = request.headers['x-http-authorization'];
      return typeof key === 'string' && key !== ''
        ? `key:${createHash('sha256').update(key).digest('base64url')}`
        : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, limit) =>
      new Problem(
        429,
        'too_many_requests',
        `Rate limit of ${limit.max} requests per window reached; retry in ${limit.after}.`,
        undefined,
        {
          'retry-after': String(Math.max(1, Math.ceil(limit.ttl / 1000))),
        },
      ),
  });

  if (options.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      // Thrown to the error handler, which answers it as problem details.
      customError: OverloadedProblem,
    });
  }

  const adminDigest = options.adminKey ? createHash('sha256').update(options.adminKey).digest() : undefined;
  const isAdmin = (secret: string) =>
    adminDigest !== undefined && timingSafeEqual(adminDigest, createHash('sha256').update(secret).digest());

  // Authentication first: 401 comes before any other answer, as the seed's order has it.
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    const access = config.access ?? 'public';
    if (access === 'public') return;
    const header = request.headers['x-http-authorization'];
    const fromQuery = config.keyInQuery ? (request.query as { api_key?: unknown }).api_key : undefined;
    const secret =
      typeof header === 'string' && header !== ''
        ? header
        : typeof fromQuery === 'string'
          ? fromQuery
          : undefined;
    if (secret === undefined) throw unauthorized();
    if (access === 'admin') {
      if (isAdmin(secret)) return;
      if (deps.ledger.authenticate(secret))
        throw new Problem(403, 'forbidden', 'This route needs the admin key.');
      throw unauthorized();
    }
    const staff = deps.ledger.authenticate(secret);
    if (!staff) throw unauthorized();
    request.staff = staff;
  });

  // Load shedding: past the in-flight cap or the ledger's backlog, answer 503 at once instead of queueing.
  // A request counts until its handler has answered (onSend), even when its client has gone: a closing
  // service waits for those handlers before it closes the matcher and the ledger under them.
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  const release = async (request: FastifyRequest) => {
    if (counted.delete(request)) inFlight--;
  };
  app.addHook('onClose', async () => {
    const deadline = Date.now() + closeWaitMs;
    while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  });
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config.shed) return;
    if (inFlight >= options.maxInFlight || deps.ledger.queueDepth >= options.ledgerQueueMax) {
      throw new OverloadedProblem();
    }
    inFlight++;
    counted.add(request);
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    await release(request);
    return payload;
  });
  app.addHook('onResponse', release);

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = problemOf(error, request);
    if (problem.status >= 500 && problem.code === 'internal_error')
      request.log.error({ err: error }, 'request failed');
    for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
    return reply
      .code(problem.status)
      .type('application/problem+json')
      .send(problem.body(pathOf(request.url)));
  });
  app.setNotFoundHandler((request, reply) => {
    const problem = new Problem(404, 'not_found', `No route ${request.method} ${pathOf(request.url)}.`);
    return reply
      .code(404)
      .type('application/problem+json')
      .send(problem.body(pathOf(request.url)));
  });

  registerVerificationRoutes(app, context);
  registerCreditRoutes(app, context);
  registerWebhookRoutes(app, context);
  registerReconcileRoutes(app, context);
  registerOperationRoutes(app, context, () => matcher !== undefined);
  return app;
}
