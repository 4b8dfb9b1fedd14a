import { type ReadinessCheck, Registry, healthPlugin, postgresCheck, redisCheck } from '@vigie/health';
import type { Logger } from '@vigie/logger';
import type { Redis } from 'ioredis';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ListenerConfig } from './config.js';
import { ingestRoutes } from './ingest.js';
import type { ListenerRuntime } from './runtime.js';
import { smokeRoutes } from './smoke.js';

export interface ListenerDeps {
  pool: pg.Pool;
  redis: Redis;
  runtime: ListenerRuntime;
  logger: Logger;
  registry: Registry;
  scrub: (s: string) => string;
  version: string;
}

export function readinessChecks(deps: ListenerDeps): ReadinessCheck[] {
  return [
    postgresCheck(deps.pool),
    redisCheck(deps.redis),
    {
      name: 'listen',
      critical: true,
      run: async () => ({
        status: deps.runtime.wakeup.connected ? 'pass' : 'fail',
        observedValue: deps.runtime.isLeader ? 'actif' : 'en attente',
        ...(deps.runtime.wakeup.connected ? {} : { output: 'connexion LISTEN absente' }),
      }),
    },
    {
      name: 'outbox_lag',
      critical: true,
      run: async () => {
        const lag = await deps.runtime.dispatcher.lagSeconds();
        // A standby does not drain: only the active listener's lag matters.
        const status = !deps.runtime.isLeader ? 'pass' : lag > 300 ? 'fail' : lag > 30 ? 'warn' : 'pass';
        return { status, observedValue: Math.round(lag * 1000), observedUnit: 'ms', ...(deps.runtime.error ? { output: deps.runtime.error } : {}) };
      },
    },
  ];
}

/** The listener's HTTP surface: health, readiness, metrics, the access-events ingest and /smoke. */
export async function buildApp(cfg: ListenerConfig, deps: ListenerDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 1_048_576 }) as unknown as FastifyInstance;
  await app.register(healthPlugin, {
    serviceId: 'listener',
    version: deps.version,
    release: cfg.APP_RELEASE,
    env: cfg.APP_ENV,
    registry: deps.registry,
    checks: readinessChecks(deps),
    scrub: deps.scrub,
  });
  await app.register(smokeRoutes, {
    pool: deps.pool,
    release: cfg.APP_RELEASE,
    timeoutMs: cfg.VIGIE_SMOKE_TIMEOUT_MS,
    minIntervalMs: cfg.VIGIE_SMOKE_MIN_INTERVAL_MS,
  });
  await app.register(ingestRoutes, {
    token: cfg.VIGIE_INGEST_TOKEN,
    pool: deps.pool,
    maxBatch: cfg.VIGIE_INGEST_MAX_BATCH,
    maxBodyBytes: cfg.VIGIE_INGEST_MAX_BODY_BYTES,
    ratePerMinute: cfg.VIGIE_INGEST_RATE_PER_MIN,
    redis: deps.redis,
    rateLimitPrefix: cfg.VIGIE_QUEUE_PREFIX,
  });
  return app;
}
