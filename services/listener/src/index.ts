import { readFileSync } from 'node:fs';
import { ConfigError, scrub } from '@vigie/config';
import { createPool } from '@vigie/db';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Shutdown } from '@vigie/lifecycle';
import { createLogger } from '@vigie/logger';
import { Producer, createRedis } from '@vigie/queue';
import { buildApp } from './app.js';
import { loadListenerConfig } from './config.js';
import { createListenerMetrics } from './metrics.js';
import { ListenerRuntime } from './runtime.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

async function main(): Promise<void> {
  let cfg: ReturnType<typeof loadListenerConfig>;
  try {
    cfg = loadListenerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigie-listener: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger({ service: 'listener', env: cfg.APP_ENV, release: cfg.APP_RELEASE, level: cfg.LOG_LEVEL, secrets: cfg.secrets });
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
  shutdown.installSignalHandlers();
  await app.listen({ host: cfg.HOST, port: cfg.PORT });
  await runtime.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`vigie-listener: démarrage impossible : ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
