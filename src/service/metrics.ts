/**
 * Prometheus metrics of one service instance, in a registry of its own (two apps in one process, as in the
 * tests, do not share counters).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requestSeconds = new Histogram({
    name: 'certmatch_http_request_duration_seconds',
    help: 'Time to answer a request, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly matches = new Counter({
    name: 'certmatch_matches_total',
    help: 'Companies answered, by match band (very_high is exactly_matched) and none for not found',
    labelNames: ['band'] as const,
    registers: [this.registry],
  });
  readonly creditsCharged = new Counter({
    name: 'certmatch_credits_charged_total',
    help: 'Credits charged for verifications',
    registers: [this.registry],
  });

  constructor(sources: { ledgerQueueDepth: () => number; poolUtilization: () => number }) {
    new Gauge({
      name: 'certmatch_ledger_queue_depth',
      help: 'Ledger writes waiting for their group commit',
      registers: [this.registry],
      collect() {
        this.set(sources.ledgerQueueDepth());
      },
    });
    new Gauge({
      name: 'certmatch_scoring_pool_utilization',
      help: 'Share of time the scoring worker threads were busy (0-1)',
      registers: [this.registry],
      collect() {
        this.set(sources.poolUtilization());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'certmatch_' });
  }
}
