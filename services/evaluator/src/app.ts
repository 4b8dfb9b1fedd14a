import { type ReadinessCheck, type Registry, healthPlugin, postgresCheck, redisCheck } from '@vigie/health';
import type { Logger } from '@vigie/logger';
import { type Producer, QUEUES } from '@vigie/queue';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { EvaluatorConfig } from './config.js';

export interface EvaluatorDeps {
  pool: pg.Pool;
  redis: Redis;
  producer: Producer;
  logger: Logger;
  registry: Registry;
  scrub: (s: string) => string;
  version: string;
}

/** What the evaluator needs to work at all: the workers start once these pass. */
export function dependencyChecks(deps: Pick<EvaluatorDeps, 'pool' | 'redis'>): ReadinessCheck[] {
  return [postgresCheck(deps.pool), redisCheck(deps.redis)];
}

/**
 * /ready: the dependencies, and whether the evaluator keeps up (age of the
 * oldest waiting event). A lag says "behind", never "do not start": the
 * workers are gated on dependencyChecks only, or a backlog older than five
 * minutes (an evaluator down for a while) would keep them from ever starting.
 */
export function readinessChecks(deps: EvaluatorDeps): ReadinessCheck[] {
  return [
    ...dependencyChecks(deps),
    {
      name: 'queue_lag',
      critical: true,
      run: async () => {
        const d = await deps.producer.depth(QUEUES.events);
        const lag = d.oldestWaitingMs ?? 0;
        const status = lag > 300_000 ? 'fail' : lag > 30_000 ? 'warn' : 'pass';
        return { status, observedValue: lag, observedUnit: 'ms', output: `${d.waiting} en attente, ${d.active} en cours` };
      },
    },
  ];
}

/** The evaluator's HTTP surface: /health, /ready, /metrics. */
export async function buildApp(cfg: EvaluatorConfig, deps: EvaluatorDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger }) as unknown as FastifyInstance;
  await app.register(healthPlugin, {
    serviceId: 'evaluator',
    version: deps.version,
    release: cfg.APP_RELEASE,
    env: cfg.APP_ENV,
    registry: deps.registry,
    checks: readinessChecks(deps),
    scrub: deps.scrub,
  });
  return app;
}
