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

export function readinessChecks(deps: EvaluatorDeps): ReadinessCheck[] {
  return [
    postgresCheck(deps.pool),
    redisCheck(deps.redis),
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
