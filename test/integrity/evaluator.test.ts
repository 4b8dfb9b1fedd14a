import { Producer, QUEUES } from '@vigie/queue';
import { createCdr, DEPOT_ID, FOURNISSEURS, generateOperations, injectAnomaly, PRODUIT_GO_ID, setCdrStatut } from '@vigie/seed';
import { createTestDatabase, deletePrefix, type TestDatabase, testRedisUrl, uniquePrefix } from '@vigie/testkit';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../support/pipeline.js';
import { startPrivateRedis, waitFor } from '../support/processes.js';

// The evaluator as a service: deadline rules fire at their deadline with no
// sweep and no further event, and /ready tells the truth about its
// dependencies and its lag without keeping it from working a backlog off.

let db: TestDatabase;
let c: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'int_evalsvc' });
  c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await generateOperations(c, { days: 5, seed: 11 });
});
afterAll(async () => {
  await c?.end();
  await db?.drop();
});

let plate = 0;
async function cdr(...statuts: Array<'TRANSIT' | 'FRONTIERE' | 'ARRIVE'>): Promise<string> {
  plate++;
  const id = await createCdr(c, { fournisseurId: FOURNISSEURS[0].id, depotId: DEPOT_ID, produitId: PRODUIT_GO_ID,
    plaqueCamion: `DL-${String(plate).padStart(4, '0')}-ZM`, volume: 38_000 });
  for (const s of statuts) await setCdrStatut(c, id, s);
  return id;
}

/** Every outbox event of these CDRs has been evaluated. */
async function evaluated(ids: string[]): Promise<boolean> {
  const { rows } = await c.query(
    `select count(*) filter (where processed_at is null)::int as pending, count(*)::int as n from vigie.outbox where scope = any ($1::text[])`,
    [ids.map((id) => `cdr:${id}`)],
  );
  return rows[0].n > 0 && rows[0].pending === 0;
}

async function alertOf(entityId: string): Promise<{ id: string; check_code: string; status: string; first_detected_at: Date } | undefined> {
  const { rows } = await c.query('select id, check_code, status, first_detected_at from public.system_alerts where entity_id = $1::uuid', [entityId]);
  return rows[0];
}

describe('deadline rules', () => {
  it('CDR_BLOCKED and CDR_ARRIVE_STALE open at their deadline through the delayed job alone; a CDR that moved on raises nothing', async () => {
    const prefix = uniquePrefix('deadline');
    // Deadlines of a few seconds (thresholds are hours; 0.002 h = 7.2 s), no sweep for an hour.
    const pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: testRedisUrl, prefix,
      evaluatorEnv: { VIGIE_RULE_CDR_BLOCKED_TRANSIT_HOURS: '0.002', VIGIE_RULE_CDR_ARRIVE_STALE_MAX_AGE_HOURS: '0.002' } });
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    const timers = new Queue(QUEUES.timers, { connection: redis, prefix });
    try {
      const blocked = await cdr('TRANSIT');
      const stale = await cdr('TRANSIT', 'FRONTIERE', 'ARRIVE');
      const movedOn = await cdr('TRANSIT');
      await waitFor(() => evaluated([blocked, stale, movedOn]), { what: 'événements des CDR évalués', timeoutMs: 20_000 });
      // Evaluated on their events, too early to fire: nothing yet, a delayed job per deadline instead.
      for (const id of [blocked, stale, movedOn]) expect(await alertOf(id)).toBeUndefined();
      const { rows: hist } = await c.query(
        `select cdr_id::text, statut, max(entered_at) as entered_at from vigie.cdr_status_history where cdr_id = any ($1::uuid[]) group by 1, 2`,
        [[blocked, stale, movedOn]],
      );
      const entered = (id: string, statut: string) => new Date(hist.find((h) => h.cdr_id === id && h.statut === statut)!.entered_at).getTime();
      const delayed = (await timers.getDelayed()).filter((j) => j.name === 'deadline.check');
      const due = (id: string, code: string) => delayed.find((j) => j.data.entityId === id && j.data.checkCode === code);
      const jobBlocked = due(blocked, 'CDR_BLOCKED');
      const jobStale = due(stale, 'CDR_ARRIVE_STALE');
      expect(jobBlocked, 'tâche différée CDR_BLOCKED').toBeDefined();
      expect(jobStale, 'tâche différée CDR_ARRIVE_STALE').toBeDefined();
      expect(new Date(jobBlocked!.data.dueAt).getTime()).toBe(entered(blocked, 'TRANSIT') + 7_200);
      expect(new Date(jobStale!.data.dueAt).getTime()).toBe(entered(stale, 'ARRIVE') + 7_200);
      // The delayed job runs just after the deadline (1 s of margin), not before.
      expect(jobBlocked!.timestamp + jobBlocked!.delay).toBeGreaterThanOrEqual(entered(blocked, 'TRANSIT') + 7_200);

      // The third truck moves on to the border before its transit deadline.
      await setCdrStatut(c, movedOn, 'FRONTIERE');

      const opened = await waitFor(async () => {
        const a = await alertOf(blocked);
        const b = await alertOf(stale);
        return a?.status === 'OPEN' && b?.status === 'OPEN' ? { a, b } : null;
      }, { what: 'alertes des échéances', timeoutMs: 30_000 });
      expect(opened.a.check_code).toBe('CDR_BLOCKED');
      expect(opened.b.check_code).toBe('CDR_ARRIVE_STALE');
      const dueBlocked = entered(blocked, 'TRANSIT') + 7_200;
      const dueStale = entered(stale, 'ARRIVE') + 7_200;
      expect(new Date(opened.a.first_detected_at).getTime()).toBeGreaterThanOrEqual(dueBlocked);
      expect(new Date(opened.b.first_detected_at).getTime()).toBeGreaterThanOrEqual(dueStale);
      console.log(
        `[mesure] échéance → alerte OPEN : CDR_BLOCKED +${new Date(opened.a.first_detected_at).getTime() - dueBlocked} ms, CDR_ARRIVE_STALE +${new Date(opened.b.first_detected_at).getTime() - dueStale} ms (marge de la tâche : 1 000 ms)`,
      );
      // The moved-on truck's transit deadline ran and found nothing.
      const jobMovedOn = await waitFor(async () => {
        const j = (await timers.getCompleted()).find((x) => x.name === 'deadline.check' && x.data.entityId === movedOn && x.data.checkCode === 'CDR_BLOCKED');
        return j ?? null;
      }, { what: 'échéance du CDR reparti', timeoutMs: 20_000 });
      expect(jobMovedOn.finishedOn).toBeGreaterThan(0);
      expect(await alertOf(movedOn)).toBeUndefined();
      // No sweep ran: the deadline jobs alone opened the alerts.
      expect((await timers.getCompleted()).filter((j) => j.name === 'sweep.run')).toEqual([]);
    } finally {
      await pipeline.stop();
      await timers.close();
      redis.disconnect();
      await deletePrefix(prefix);
    }
  });
});

describe('Redis loses everything', () => {
  it('the sweep schedule comes back, with a sweep that schedules the lost deadline again; the deadline still fires', async () => {
    const priv = await startPrivateRedis();
    const prefix = uniquePrefix('wipe');
    const pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: priv.url, prefix,
      evaluatorEnv: { VIGIE_RULE_CDR_ARRIVE_STALE_MAX_AGE_HOURS: '0.004', VIGIE_SCHEDULE_CHECK_MS: '1000' } });
    const redis = new Redis(priv.url, { maxRetriesPerRequest: null });
    const timers = new Queue(QUEUES.timers, { connection: redis, prefix });
    const deadlineJobs = async (id: string) =>
      (await timers.getDelayed()).filter((j) => j.name === 'deadline.check' && j.data.entityId === id && j.data.checkCode === 'CDR_ARRIVE_STALE');
    try {
      expect(await timers.getJobScheduler('vigie-sweep')).toBeDefined();
      const stale = await cdr('TRANSIT', 'FRONTIERE', 'ARRIVE');
      await waitFor(async () => (await evaluated([stale])) && (await deadlineJobs(stale)).length === 1, { what: 'échéance programmée', timeoutMs: 20_000 });
      const [before] = await deadlineJobs(stale);

      await redis.flushall();
      // Gone with everything else (the evaluator's check comes back within its interval, not within these few ms).
      expect(await deadlineJobs(stale)).toEqual([]);

      // Within a check interval: the schedule is back and the restore sweep put the deadline back (same id, same time).
      await waitFor(async () => (await timers.getJobScheduler('vigie-sweep')) !== undefined, { what: 'planification du balayage recréée', timeoutMs: 20_000 });
      const [again] = await waitFor(async () => {
        const j = await deadlineJobs(stale);
        return j.length === 1 ? j : null;
      }, { what: 'échéance reprogrammée', timeoutMs: 20_000 });
      expect(again!.id).toBe(before!.id);
      expect(again!.data.dueAt).toBe(before!.data.dueAt);
      const due = new Date(before!.data.dueAt).getTime();
      expect(await alertOf(stale)).toBeUndefined();

      const opened = await waitFor(async () => {
        const a = await alertOf(stale);
        return a?.status === 'OPEN' ? a : null;
      }, { what: 'CDR_ARRIVE_STALE ouverte à l’échéance', timeoutMs: 30_000 });
      expect(opened.check_code).toBe('CDR_ARRIVE_STALE');
      expect(new Date(opened.first_detected_at).getTime()).toBeGreaterThanOrEqual(due);
    } finally {
      await pipeline.stop();
      await timers.close();
      redis.disconnect();
      await priv.stop();
    }
  });
});

describe('an event whose job failed after all its attempts', () => {
  it('is dispatched again by the listener and evaluated, although BullMQ still remembers the failed job id', async () => {
    const prefix = uniquePrefix('failed');
    // Steady state: everything captured so far was handled (no other pending event of the tank would carry these along).
    await c.query('update vigie.outbox set dispatched_at = coalesce(dispatched_at, now()), processed_at = now() where processed_at is null');
    const { rows: maxRow } = await c.query('select coalesce(max(id), 0)::int as m from vigie.outbox');
    const injected = await injectAnomaly(c, 'STOCK_NEGATIF');
    // The listener had dispatched its events ten minutes ago; the evaluator's job for the adjustment then
    // failed for good (PostgreSQL unreachable for longer than its 8 attempts).
    const { rows } = await c.query(
      `update vigie.outbox set dispatched_at = now() - interval '10 minutes', dispatch_count = 1
        where id > $1 and processed_at is null returning id::int, kind, scope`,
      [maxRow[0].m],
    );
    const ev = rows.find((r) => r.kind === 'adjustment.created');
    expect(ev).toBeDefined();
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    const producer = new Producer(redis, prefix);
    for (const r of rows) await producer.add('event.process', { eventId: r.id, kind: r.kind, scope: r.scope }, { jobId: `evt-${r.id}` });
    const workerRedis = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    const failing = new Worker(QUEUES.events, async () => {
      throw new UnrecoverableError('connexion à PostgreSQL impossible');
    }, { connection: workerRedis, prefix });
    const events = new Queue(QUEUES.events, { connection: redis, prefix });
    await waitFor(async () => (await events.getFailedCount()) === rows.length, { what: 'tâches en échec définitif', timeoutMs: 10_000 });
    await failing.close();
    workerRedis.disconnect();

    const pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: testRedisUrl, prefix });
    try {
      await waitFor(async () => {
        const { rows: a } = await c.query(
          `select status from public.system_alerts where check_code = 'STOCK_NEGATIF' and payload ->> 'citerne_id' = $1`,
          [injected.entityId],
        );
        return a[0]?.status === 'OPEN';
      }, { what: 'alerte ouverte après nouvel envoi', timeoutMs: 20_000 });
      // Every one of those events ends processed (the tank's history rules mark them a moment later).
      await waitFor(async () => {
        const { rows: left } = await c.query('select count(*)::int as n from vigie.outbox where id = any ($1::bigint[]) and processed_at is null', [
          rows.map((r) => r.id),
        ]);
        return left[0].n === 0;
      }, { what: 'événements traités', timeoutMs: 20_000 });
      expect(await events.getFailedCount()).toBe(0);
    } finally {
      await pipeline.stop();
      await events.close();
      await producer.close();
      redis.disconnect();
      await deletePrefix(prefix);
    }
  });
});

describe('evaluator /ready', () => {
  it('answers 503 naming Redis while it is down and 200 once it is back', async () => {
    const priv = await startPrivateRedis();
    let redis = priv;
    const prefix = uniquePrefix('ready');
    const pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: priv.url, prefix, listener: false });
    try {
      const ok = await waitFor(async () => {
        const r = await fetch(`${pipeline.evaluatorUrl}/ready`);
        return r.status === 200 ? r : null;
      }, { what: '/ready 200', timeoutMs: 20_000 });
      const body = await ok.json();
      expect(body).toMatchObject({ status: 'pass', serviceId: 'evaluator' });
      expect(Object.keys(body.checks).sort()).toEqual(['postgres', 'queue_lag', 'redis']);

      await redis.stop();
      const down = await waitFor(async () => {
        const r = await fetch(`${pipeline.evaluatorUrl}/ready`);
        return r.status === 503 ? r : null;
      }, { what: '/ready 503', timeoutMs: 20_000 });
      expect(down.headers.get('retry-after')).toBe('5');
      const downBody = await down.json();
      expect(downBody.status).toBe('fail');
      expect(downBody.checks.redis.status).toBe('fail');
      expect(downBody.checks.postgres.status).toBe('pass');
      // /health stays 200: liveness never depends on Redis.
      expect((await fetch(`${pipeline.evaluatorUrl}/health`)).status).toBe(200);

      redis = await startPrivateRedis(priv.port);
      await waitFor(async () => (await fetch(`${pipeline.evaluatorUrl}/ready`)).status === 200, { what: '/ready 200 après retour de Redis', timeoutMs: 30_000 });
    } finally {
      await pipeline.stop();
      await redis.stop();
    }
  });

  it('with a backlog older than five minutes: /ready says it is behind (queue_lag fail) and the evaluator still works it off', async () => {
    const prefix = uniquePrefix('backlog');
    const injected = await injectAnomaly(c, 'STOCK_NEGATIF');
    const scope = `citerne:${injected.entityId}`;
    const { rows } = await c.query(`select id::int, kind, scope from vigie.outbox where kind = 'adjustment.created' and entity_id = $1`, [
      injected.touched.stocks_adjustments?.[0],
    ]);
    const ev = rows[0];
    // The evaluator was down for ten minutes: the event's job (and its replay) waited in the queue.
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    const producer = new Producer(redis, prefix);
    for (const id of [`evt-${ev.id}`, `evt-${ev.id}-replay`])
      await producer.add('event.process', { eventId: ev.id, kind: ev.kind, scope: ev.scope }, { jobId: id, timestamp: Date.now() - 600_000 });
    // The tank's evaluation is held up (its scope lock taken elsewhere): with one worker slot, the replay keeps waiting.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('select pg_advisory_lock(hashtext($1))', [scope]);
    const pipeline = await startPipeline({ databaseUrl: db.appUrl, redisUrl: testRedisUrl, prefix, listener: false,
      evaluatorEnv: { VIGIE_EVAL_CONCURRENCY: '1' } });
    try {
      const behind = await waitFor(async () => {
        const r = await fetch(`${pipeline.evaluatorUrl}/ready`);
        return r.status === 503 ? r.json() : null;
      }, { what: '/ready 503 (retard)', timeoutMs: 20_000 });
      expect(behind.checks.queue_lag.status).toBe('fail');
      expect(behind.checks.queue_lag.observedValue).toBeGreaterThanOrEqual(600_000);
      expect(behind.checks.postgres.status).toBe('pass');
      expect(behind.checks.redis.status).toBe('pass');
      const alert = () =>
        c.query(`select status from public.system_alerts where check_code = 'STOCK_NEGATIF' and payload ->> 'citerne_id' = $1`, [injected.entityId]);
      expect((await alert()).rows).toEqual([]);
      // Behind is not "do not work": once the tank is free, the backlog is worked off and /ready comes back.
      await holder.query('select pg_advisory_unlock(hashtext($1))', [scope]);
      await waitFor(async () => (await alert()).rows[0]?.status === 'OPEN', { what: 'alerte ouverte depuis l’arriéré', timeoutMs: 20_000 });
      const after = await waitFor(async () => {
        const r = await fetch(`${pipeline.evaluatorUrl}/ready`);
        return r.status === 200 ? r.json() : null;
      }, { what: '/ready 200 après résorption', timeoutMs: 20_000 });
      expect(after.checks.queue_lag.status).toBe('pass');
    } finally {
      await pipeline.stop();
      await holder.end();
      await producer.close();
      redis.disconnect();
      await deletePrefix(prefix);
    }
  });
});
