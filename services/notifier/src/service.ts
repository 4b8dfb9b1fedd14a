import { readFileSync } from 'node:fs';
import { scrub } from '@vigie/config';
import { createPool } from '@vigie/db';
import { Registry } from '@vigie/health';
import { Shutdown } from '@vigie/lifecycle';
import { type Logger, createLogger } from '@vigie/logger';
import { Producer, QUEUES, createRedis, createWorker, jobId } from '@vigie/queue';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.js';
import { type NotifierConfig, weekdayIndex } from './config.js';
import type { NotifierCore } from './core.js';
import { NotifierEngine } from './engine.js';
import { createNotifierMetrics } from './metrics.js';
import { createOutbound, destinations } from './outbound.js';
import { RoutingPolicy, loadRoutingFile } from './routing.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export interface RunningNotifier {
  app: FastifyInstance;
  engine: NotifierEngine;
  core: NotifierCore;
  shutdown: Shutdown;
  /** The bound HTTP address (port 0 in tests picks a free one). */
  url: string;
  /** Resolves once readiness passed and the worker consumes jobs. */
  started: Promise<void>;
  stop: () => Promise<void>;
}

/** The notifier's moving parts without HTTP or worker: used by the service and by `vigie digest --now`. */
export function createCore(cfg: NotifierConfig, logger: Logger, registry: Registry, scheduleFlush: NotifierCore['scheduleFlush']): NotifierCore {
  const metrics = createNotifierMetrics(registry);
  const pool = createPool(cfg.DATABASE_URL, { applicationName: 'vigie-notifier', max: cfg.VIGIE_NOTIFIER_CONCURRENCY + 4 }, (err) =>
    logger.warn({ err }, 'pool pg : erreur'),
  );
  const out = createOutbound(cfg, logger);
  const policy = new RoutingPolicy(
    cfg.APP_ENV,
    destinations(cfg),
    cfg.VIGIE_ROUTING_FILE ? loadRoutingFile(cfg.VIGIE_ROUTING_FILE) : null,
    cfg.VIGIE_SECURITY_CODES,
  );
  return {
    pool,
    out,
    policy,
    log: logger,
    metrics,
    scheduleFlush,
    opts: {
      lang: cfg.VIGIE_LANG,
      timeZone: cfg.VIGIE_TZ,
      link: `${cfg.MLPP_APP_URL.replace(/\/+$/, '')}/governance/integrity`,
      reminderMs: cfg.VIGIE_REMINDER_HOURS * 3_600_000,
      stormWindowMs: cfg.VIGIE_STORM_WINDOW_S * 1_000,
      retryMaxMs: cfg.VIGIE_RETRY_MAX_S * 1_000,
      giveUpMs: cfg.VIGIE_GIVE_UP_HOURS * 3_600_000,
      digestSchedule: cfg.VIGIE_DIGEST_SCHEDULE,
      digestHour: cfg.VIGIE_DIGEST_HOUR,
      weeklyDay: weekdayIndex(cfg.VIGIE_WEEKLY_DAY),
    },
  };
}

/** Builds and starts the whole notifier: used by index.ts, tests and the bench. */
export async function startNotifier(cfg: NotifierConfig, opts: { logger?: Logger } = {}): Promise<RunningNotifier> {
  const logger =
    opts.logger ?? createLogger({ service: 'notifier', env: cfg.APP_ENV, release: cfg.APP_RELEASE, level: cfg.LOG_LEVEL, secrets: cfg.secrets });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis : erreur'));
  const workerRedis = createRedis(cfg.REDIS_URL, 'worker');
  workerRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis (worker) : erreur'));
  const producer = new Producer(redis, cfg.VIGIE_QUEUE_PREFIX);

  const core = createCore(cfg, logger, registry, async (groupId, at, tag) => {
    await producer.add('notify.group', { groupKey: String(groupId) }, {
      jobId: tag ? jobId('grp', groupId, tag) : jobId('grp', groupId),
      delay: Math.max(0, at.getTime() - Date.now()) + 250,
    });
  });
  const engine = new NotifierEngine(core, producer, logger);
  const worker: Worker = createWorker(QUEUES.notify, engine.handlers(), workerRedis, {
    prefix: cfg.VIGIE_QUEUE_PREFIX,
    concurrency: cfg.VIGIE_NOTIFIER_CONCURRENCY,
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker : erreur'));
  worker.on('failed', (job, err) => logger.warn({ jobId: job?.id, job: job?.name, attempts: job?.attemptsMade, err: err.message }, 'job en échec'));

  const app = await buildApp(cfg, {
    pool: core.pool,
    redis,
    outbound: core.out,
    logger,
    registry,
    metrics: core.metrics,
    scrub: (s) => scrub(s, cfg.secrets),
    version,
  });

  // The tick's job scheduler lives in Redis: a Redis that lost everything gets it back within a minute.
  const upsertTick = () =>
    producer
      .queue(QUEUES.notify)
      .upsertJobScheduler(
        'notify-tick',
        { every: Math.round(cfg.VIGIE_TICK_S * 1_000) },
        { name: 'notify.tick', data: { reason: 'schedule' }, opts: { removeOnComplete: true, removeOnFail: 50, attempts: 1 } },
      )
      .catch((err: unknown) => logger.warn({ err }, 'planification du tour périodique impossible pour le moment'));
  let keeper: NodeJS.Timeout | null = null;

  // Workers start paused and resume once readiness passes.
  let gateTimer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  const started = new Promise<void>((resolve) => {
    const attempt = async () => {
      if (stopped) return;
      const report = await app.health.readiness().catch(() => ({ status: 'fail' as const }));
      if (report.status !== 'fail' && !stopped) {
        await upsertTick();
        keeper = setInterval(() => void upsertTick(), 60_000);
        keeper.unref();
        running = worker.run().catch((err: unknown) => logger.error({ err }, 'worker arrêté sur erreur'));
        logger.info({ slack: core.out.chatProvider, email: core.out.mailProvider }, 'notifier prêt : consommation des jobs');
        resolve();
        return;
      }
      gateTimer = setTimeout(() => void attempt(), 500);
      gateTimer.unref();
    };
    void attempt();
  });

  const shutdown = new Shutdown(logger)
    .add('http', () => app.close())
    .add('gate', () => {
      stopped = true;
      if (gateTimer) clearTimeout(gateTimer);
      if (keeper) clearInterval(keeper);
    })
    .add('worker', async () => {
      await worker.close();
      await running;
    })
    .add('queues', () => producer.close())
    .add('channels', () => core.out.close())
    .add('redis', async () => {
      await redis.quit().catch(() => redis.disconnect());
      await workerRedis.quit().catch(() => workerRedis.disconnect());
    })
    .add('pg', () => core.pool.end());
  const url = await app.listen({ host: cfg.HOST, port: cfg.PORT });
  return { app, engine, core, shutdown, url, started, stop: () => shutdown.run('stop') };
}
