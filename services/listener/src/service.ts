import { readFileSync } from 'node:fs';
import { scrub } from '@vigie/config';
import { createPool } from '@vigie/db';
import { Registry } from '@vigie/health';
import { Shutdown } from '@vigie/lifecycle';
import { type Logger, createLogger } from '@vigie/logger';
import { Producer, createRedis } from '@vigie/queue';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.js';
import type { ListenerConfig } from './config.js';
import { createListenerMetrics } from './metrics.js';
import { ListenerRuntime } from './runtime.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export interface RunningListener {
  app: FastifyInstance;
  runtime: ListenerRuntime;
  shutdown: Shutdown;
  /** The bound HTTP address (port 0 in tests picks a free one). */
  url: string;
  stop: () => Promise<void>;
}

/** Builds and starts the whole listener: used by index.ts, tests and the bench. */
export async function startListener(cfg: ListenerConfig, opts: { logger?: Logger } = {}): Promise<RunningListener> {
  const logger =
    opts.logger ?? createLogger({ service: 'listener', env: cfg.APP_ENV, release: cfg.APP_RELEASE, level: cfg.LOG_LEVEL, secrets: cfg.secrets });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createListenerMetrics(registry);
  const pool = createPool(cfg.DATABASE_URL, { applicationName: 'vigie-listener', max: 5 }, (err) => logger.warn({ err }, 'pool pg : erreur'));
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis : erreur'));
  const producer = new Producer(redis, cfg.VIGIE_QUEUE_PREFIX);
  const runtime = new ListenerRuntime(
    pool,
    redis,
    producer,
    {
      listenUrl: cfg.LISTEN_DATABASE_URL ?? cfg.DATABASE_URL,
      prefix: cfg.VIGIE_QUEUE_PREFIX,
      pollIntervalMs: cfg.VIGIE_POLL_INTERVAL_MS,
      redispatchAfterS: cfg.VIGIE_REDISPATCH_AFTER_S,
      retentionDays: cfg.VIGIE_OUTBOX_RETENTION_DAYS,
    },
    logger,
    metrics,
  );
  const app = await buildApp(cfg, { pool, redis, runtime, logger, registry, scrub: (s) => scrub(s, cfg.secrets), version });
  const shutdown = new Shutdown(logger)
    .add('http', () => app.close())
    .add('runtime', () => runtime.stop())
    .add('queues', () => producer.close())
    .add('redis', () => redis.quit().catch(() => redis.disconnect()))
    .add('pg', () => pool.end());
  const url = await app.listen({ host: cfg.HOST, port: cfg.PORT });
  await runtime.start();
  return { app, runtime, shutdown, url, stop: () => shutdown.run('stop') };
}
