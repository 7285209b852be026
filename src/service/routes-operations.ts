/** Liveness, readiness and Prometheus metrics: public, never rate limited. */
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from './context.js';

export function registerOperationRoutes(
  app: FastifyInstance,
  context: ServiceContext,
  isReady: () => boolean,
): void {
  // Answered even under pressure (a busy index build must not look like a dead process).
  const config = { access: 'public', rateLimit: false, pressureHandler: () => undefined } as const;
  const tags = ['operations'];
  app.get('/healthz', { config, schema: { summary: 'Liveness: the process answers', tags } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { config, schema: { summary: 'Readiness: the matching index is loaded (503 until then)', tags } },
    async (_request, reply) => {
      if (!isReady()) return reply.code(503).send({ status: 'loading' });
      return { status: 'ready', entities: context.matcher().entityCount };
    },
  );
  app.get(
    '/metrics',
    { config, schema: { summary: 'Prometheus metrics', tags, hide: false } },
    async (_request, reply) =>
      reply.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics()),
  );
}
