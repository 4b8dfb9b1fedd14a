import { type ReadinessCheck, type Registry, healthPlugin, postgresCheck, redisCheck } from '@vigie/health';
import type { Logger } from '@vigie/logger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { NotifierConfig } from './config.js';
import { recentPermanentFailures } from './ledger.js';
import type { NotifierMetrics } from './metrics.js';
import type { Outbound } from './outbound.js';

export interface NotifierDeps {
  pool: pg.Pool;
  redis: Redis;
  outbound: Outbound;
  logger: Logger;
  registry: Registry;
  metrics: NotifierMetrics;
  scrub: (s: string) => string;
  version: string;
}

export function readinessChecks(deps: NotifierDeps): ReadinessCheck[] {
  return [
    postgresCheck(deps.pool),
    redisCheck(deps.redis),
    {
      // Permanent failures are not retried: they need a person (bad token, unknown channel, rejected address).
      name: 'deliveries',
      critical: false,
      run: async () => {
        const failures = await recentPermanentFailures(deps.pool);
        const n = failures.reduce((s, f) => s + f.n, 0);
        deps.metrics.permanentFailures24h.set(n);
        if (n === 0) return { status: 'pass', observedValue: 0, observedUnit: 'échecs définitifs sur 24 h' };
        return {
          status: 'warn',
          observedValue: n,
          observedUnit: 'échecs définitifs sur 24 h',
          output: `envois en échec définitif sur 24 h : ${failures.map((f) => `${f.channel} ${f.code} ×${f.n}`).join(', ')} — voir docs/runbooks/notifications.md`,
        };
      },
    },
    {
      name: 'providers',
      critical: false,
      run: async () => {
        const v = await deps.outbound.verify();
        const where = `slack=${deps.outbound.chatProvider}, email=${deps.outbound.mailProvider}`;
        if (!v.slack && !v.smtp) return { status: 'pass', observedValue: where };
        return {
          status: 'warn',
          observedValue: where,
          output: [v.slack && `Slack : ${v.slack}`, v.smtp && `SMTP : ${v.smtp}`].filter(Boolean).join(' ; '),
        };
      },
    },
  ];
}

/** The notifier's HTTP surface: health, readiness, metrics. */
export async function buildApp(cfg: NotifierConfig, deps: NotifierDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger }) as unknown as FastifyInstance;
  await app.register(healthPlugin, {
    serviceId: 'notifier',
    version: deps.version,
    release: cfg.APP_RELEASE,
    env: cfg.APP_ENV,
    registry: deps.registry,
    checks: readinessChecks(deps),
    scrub: deps.scrub,
    // SMTP verify may take a few seconds on a slow server.
    timeoutMs: 5_000,
  });
  return app;
}
