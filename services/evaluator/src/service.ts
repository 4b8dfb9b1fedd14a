import { readFileSync } from 'node:fs';
import { scrub } from '@vigie/config';
import { createPool } from '@vigie/db';
import { Registry, runChecks } from '@vigie/health';
import { Shutdown } from '@vigie/lifecycle';
import { type Logger, createLogger } from '@vigie/logger';
import { Coalescer, PermanentJobError, Producer, QUEUES, createRedis, createWorker, jobId } from '@vigie/queue';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics } from 'prom-client';
import { buildApp, dependencyChecks } from './app.js';
import type { EvaluatorConfig } from './config.js';
import { Evaluator } from './evaluator.js';
import { createEvaluatorMetrics } from './metrics.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const SWEEP_SCHEDULER_ID = 'vigie-sweep';

export interface RunningEvaluator {
  app: FastifyInstance;
  evaluator: Evaluator;
  workers: Worker[];
  shutdown: Shutdown;
  url: string;
  stop: () => Promise<void>;
}

/** Builds and starts the evaluator: HTTP, the events and timers workers, the sweep schedule. */
export async function startEvaluator(cfg: EvaluatorConfig, opts: { logger?: Logger } = {}): Promise<RunningEvaluator> {
  const logger =
    opts.logger ?? createLogger({ service: 'evaluator', env: cfg.APP_ENV, release: cfg.APP_RELEASE, level: cfg.LOG_LEVEL, secrets: cfg.secrets });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createEvaluatorMetrics(registry);
  const pool = createPool(cfg.DATABASE_URL, { applicationName: 'vigie-evaluator', max: cfg.VIGIE_EVAL_CONCURRENCY + 4 }, (err) =>
    logger.warn({ err }, 'pool pg : erreur'),
  );
  const redis = createRedis(cfg.REDIS_URL, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis : erreur'));
  const workerRedis = createRedis(cfg.REDIS_URL, 'worker');
  workerRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis (workers) : erreur'));
  const producer = new Producer(redis, cfg.VIGIE_QUEUE_PREFIX);
  const evaluator = new Evaluator(
    pool,
    producer,
    { thresholds: cfg.thresholds, lang: cfg.VIGIE_LANG, security: cfg.security, historyIntervalMs: cfg.VIGIE_HISTORY_INTERVAL_MS },
    logger,
    metrics,
    new Coalescer(redis, cfg.VIGIE_QUEUE_PREFIX),
  );

  const events = createWorker(
    QUEUES.events,
    {
      'event.process': async (data, job) => {
        const outcome = await evaluator.processEvent(data.eventId, data.kind, data.scope, {
          history: job.id?.startsWith(Evaluator.HISTORY_JOB_PREFIX) ?? false,
        });
        logger.debug({ jobId: job.id, eventId: data.eventId, kind: data.kind, outcome }, 'événement traité');
        return outcome;
      },
    },
    workerRedis,
    { prefix: cfg.VIGIE_QUEUE_PREFIX, concurrency: cfg.VIGIE_EVAL_CONCURRENCY },
  );
  const timers = createWorker(
    QUEUES.timers,
    {
      'deadline.check': async (data) => {
        if (data.entityType !== 'CDR') throw new PermanentJobError('VIGIE_DEADLINE_ENTITY', `échéance sur ${data.entityType} non gérée`);
        await evaluator.deadline(data.entityId);
      },
      'sweep.run': async (data) => evaluator.sweep(data.reason),
    },
    workerRedis,
    { prefix: cfg.VIGIE_QUEUE_PREFIX, concurrency: 2 },
  );
  const workers = [events, timers];
  for (const w of workers) {
    w.on('error', (err) => logger.warn({ err }, 'worker : erreur'));
    w.on('failed', (job, err) => logger.warn({ jobId: job?.id, name: job?.name, err: err.message }, 'tâche en échec'));
  }

  const app = await buildApp(cfg, { pool, redis, producer, logger, registry, scrub: (s) => scrub(s, cfg.secrets), version });
  let readyTimer: NodeJS.Timeout | null = null;
  let scheduleTimer: NodeJS.Timeout | undefined;
  const gaugeTimer = setInterval(() => void evaluator.refreshOpenAlerts().catch(() => undefined), 15_000);
  gaugeTimer.unref();
  const shutdown = new Shutdown(logger)
    .add('http', () => app.close())
    .add('timers', () => {
      if (readyTimer) clearTimeout(readyTimer);
      clearInterval(gaugeTimer);
      clearInterval(scheduleTimer);
    })
    .add('workers', () => Promise.all(workers.map((w) => w.close())))
    .add('queues', () => producer.close())
    .add('redis', () => Promise.all([redis.quit().catch(() => redis.disconnect()), workerRedis.quit().catch(() => workerRedis.disconnect())]))
    .add('pg', () => pool.end());

  const url = await app.listen({ host: cfg.HOST, port: cfg.PORT });
  const timersQueue = producer.queue(QUEUES.timers);
  const scheduleSweep = () =>
    timersQueue.upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      // First run one interval after start: the outbox replay already covers what happened meanwhile.
      { every: cfg.VIGIE_SWEEP_INTERVAL_MS, startDate: Date.now() + cfg.VIGIE_SWEEP_INTERVAL_MS },
      { name: 'sweep.run', data: { reason: 'schedule' } },
    );
  // Redis down at start: the check below schedules it once Redis is back.
  await scheduleSweep().catch((err: unknown) =>
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'planification du balayage impossible pour le moment'),
  );
  // The sweep's schedule and the deadline jobs live in Redis. A Redis that lost
  // everything (restart without persistence, FLUSHALL) gets the schedule back
  // here, with a sweep at once: it catches what fell due meanwhile and
  // schedules the open deadlines again.
  const keepSchedule = async () => {
    try {
      if (await timersQueue.getJobScheduler(SWEEP_SCHEDULER_ID)) return;
      await scheduleSweep();
      await producer.add('sweep.run', { reason: 'startup' }, { jobId: jobId('sweep-restore', Date.now()) });
      logger.warn('planification du balayage absente de Redis (Redis vidé ou redémarré) : recréée, balayage lancé');
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'vérification de la planification du balayage impossible pour le moment');
    }
  };
  scheduleTimer = setInterval(() => void keepSchedule(), cfg.VIGIE_SCHEDULE_CHECK_MS);
  scheduleTimer.unref();

  // Workers start paused and run once PostgreSQL and Redis answer (not on the
  // whole of /ready: its queue lag check would keep a backlog from being worked off).
  let started = false;
  const gate = dependencyChecks({ pool, redis });
  const tryStart = async () => {
    readyTimer = null;
    if (started) return;
    if ((await runChecks(gate)).status !== 'fail') {
      started = true;
      for (const w of workers) void w.run().catch((err: unknown) => logger.error({ err }, 'worker arrêté'));
      logger.info('évaluateur prêt : traitement des événements démarré');
      return;
    }
    readyTimer = setTimeout(() => void tryStart(), 1_000);
    readyTimer.unref();
  };
  await tryStart();
  void evaluator.refreshOpenAlerts().catch(() => undefined);
  return { app, evaluator, workers, shutdown, url, stop: () => shutdown.run('stop') };
}
