import { type ChildProcess, spawnSync } from 'node:child_process';
import { createTestDatabase, type TestDatabase, uniquePrefix } from '@vigie/testkit';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, insertReception } from '../support/mlpp.js';
import { freePort, killHard, repoRoot, startPrivateRedis, startService, waitFor } from '../support/processes.js';

let db: TestDatabase;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let admin: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'listener' });
  redis = await startPrivateRedis();
  admin = new pg.Pool({ connectionString: db.url, max: 4 });
});
afterAll(async () => {
  await admin?.end();
  await redis?.stop();
  await db?.drop();
});

function listenerEnv(port: number, prefix: string): Record<string, string> {
  return {
    APP_ENV: 'local',
    APP_RELEASE: 'test-release-7',
    DATABASE_URL: db.appUrl,
    REDIS_URL: redis.url,
    VIGIE_QUEUE_PREFIX: prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    VIGIE_POLL_INTERVAL_MS: '300',
    VIGIE_REDISPATCH_AFTER_S: '10',
  };
}

describe('listener', () => {
  it('shows the release on /health and is ready once LISTEN is up', async () => {
    const port = await freePort();
    const proc = startService('listener', listenerEnv(port, uniquePrefix('lh')));
    try {
      const ready = await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/ready`);
        return r.status === 200 ? ((await r.json()) as { checks: Record<string, { status: string }> }) : null;
      }, { what: '/ready 200', timeoutMs: 30_000 });
      expect(ready.checks.listen?.status).toBe('pass');
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'pass', serviceId: 'listener', releaseId: 'test-release-7', env: 'local' });
      expect(JSON.stringify(health)).not.toContain('postgres://');
    } finally {
      await killHard(proc);
    }
  });

  it('stops with one clear line and exit 78 on bad configuration', () => {
    const res = spawnSync(process.execPath, [`${repoRoot}services/listener/dist/index.js`], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: 'mysql://nope', PORT: '99999' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(78);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DATABASE_URL doit être une URL postgres://');
    expect(lines[0]).toContain('PORT doit être entre 1 et 65535');
  });

  it('loses nothing and duplicates nothing across kill -9 of the listener and a Redis wipe', async () => {
    const prefix = uniquePrefix('lk');
    const port = await freePort();
    const f = await fixture(admin);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const effects: string[] = [];
    const jobRuns = new Map<number, number>();
    // Stand-in consumer doing what the evaluator does: an idempotent effect, then mark processed.
    const worker = new Worker(
      'events',
      async (job) => {
        const eventId = job.data.eventId as number;
        // A slow consumer, so that jobs are waiting in Redis when it is wiped.
        await new Promise((r) => setTimeout(r, 15));
        jobRuns.set(eventId, (jobRuns.get(eventId) ?? 0) + 1);
        const { rows } = await admin.query(
          'update vigie.outbox set processed_at = clock_timestamp() where id = $1 and processed_at is null returning id',
          [eventId],
        );
        if (rows.length) effects.push(String(eventId));
      },
      { connection, prefix, concurrency: 2 },
    );
    worker.on('error', () => undefined);
    let proc: ChildProcess = startService('listener', listenerEnv(port, prefix));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, { what: 'listener prêt', timeoutMs: 30_000 });
      const first = await admin.query('select coalesce(max(id), 0)::bigint as m from vigie.outbox');
      const total = 240;
      for (let i = 0; i < total; i++) {
        await insertReception(admin, f, { volume: 100 + i });
        if (i === 60) {
          await killHard(proc); // kill -9 mid-stream
        }
        if (i === 100) proc = startService('listener', listenerEnv(port, prefix));
        if (i === 160) {
          const r = new Redis(redis.url);
          await r.flushall(); // Redis loses everything
          r.disconnect();
        }
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 20));
      }
      const expected = await admin.query<{ id: string }>(
        "select id::text from vigie.outbox where id > $1 and kind = 'reception.created' order by id",
        [first.rows[0].m],
      );
      expect(expected.rows).toHaveLength(total);
      await waitFor(
        async () => {
          const { rows } = await admin.query("select count(*)::int as n from vigie.outbox where id > $1 and kind = 'reception.created' and processed_at is null", [first.rows[0].m]);
          return rows[0].n === 0;
        },
        { what: 'tous les événements traités', timeoutMs: 90_000, intervalMs: 250 },
      );
      const ids = expected.rows.map((r) => r.id);
      const effectSet = new Set(effects);
      const lost = ids.filter((id) => !effectSet.has(id));
      const duplicated = effects.length - effectSet.size;
      expect({ lost: lost.length, duplicated }).toEqual({ lost: 0, duplicated: 0 });
      // The faults really hit queued work: some events had to be dispatched again.
      const replayed = await admin.query(
        "select count(*)::int as n from vigie.outbox where id > $1 and kind = 'reception.created' and dispatch_count > 1",
        [first.rows[0].m],
      );
      expect(replayed.rows[0].n).toBeGreaterThan(0);
    } finally {
      await killHard(proc);
      await worker.close();
      connection.disconnect();
    }
  });
});
