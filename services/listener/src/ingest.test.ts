import { randomUUID } from 'node:crypto';
import { createTestDatabase, deletePrefix, type TestDatabase, testRedisUrl, uniquePrefix } from '@vigie/testkit';
import { Redis } from 'ioredis';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_PATH, type IngestOptions, ingestRoutes } from './ingest.js';

const TOKEN = 'a'.repeat(24) + randomUUID().replace(/-/g, '');
let db: TestDatabase;
let admin: pg.Pool;
let appPool: pg.Pool;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'ingest' });
  admin = new pg.Pool({ connectionString: db.url, max: 2 });
  appPool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await appPool?.end();
  await admin?.end();
  await db?.drop();
});

async function build(opts: Partial<IngestOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(ingestRoutes, { token: TOKEN, pool: appPool, ratePerMinute: 100_000, ...opts });
  await app.ready();
  apps.push(app);
  return app;
}

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const now = () => new Date().toISOString();
const ev = (o: Record<string, unknown> = {}) => ({ at: now(), kind: 'login_failed', email: 'someone@example.com', ip: '203.0.113.7', ...o });

async function counts(): Promise<{ events: number; outbox: number; batches: number }> {
  const { rows } = await admin.query<{ events: number; outbox: number; batches: number }>(
    `select (select count(*)::int from vigie.access_events) as events,
            (select count(*)::int from vigie.outbox where kind = 'access.event') as outbox,
            (select count(*)::int from vigie.access_batches) as batches`,
  );
  return rows[0]!;
}

describe('POST /v1/access-events', () => {
  it('answers 503 with a clear message when no token is configured', async () => {
    const app = await build({ token: undefined });
    const r = await app.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload: { events: [ev()] } });
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('VIGIE_INGEST_DISABLED');
    expect(r.json().error.message).toContain('VIGIE_INGEST_TOKEN');
  });

  it('answers 401 with WWW-Authenticate without a token or with a wrong one', async () => {
    const app = await build();
    const none = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { 'content-type': 'application/json' }, payload: { events: [ev()] } });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="vigie-ingest"');
    const wrong = await app.inject({
      method: 'POST',
      url: INGEST_PATH,
      headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x`, 'content-type': 'application/json' },
      payload: { events: [ev()] },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
    const basic = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { authorization: `Basic ${TOKEN}`, 'content-type': 'application/json' }, payload: '{}' });
    expect(basic.statusCode).toBe(401);
  });

  it('answers 415 for another content type, 405 for another method', async () => {
    const app = await build();
    const r = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { ...auth, 'content-type': 'text/plain' }, payload: JSON.stringify({ events: [ev()] }) });
    expect(r.statusCode).toBe(415);
    expect(r.json().error.code).toBe('VIGIE_INGEST_UNSUPPORTED_MEDIA_TYPE');
    const g = await app.inject({ method: 'GET', url: INGEST_PATH, headers: auth });
    expect(g.statusCode).toBe(405);
    expect(g.headers.allow).toBe('POST');
  });

  it('answers 413 for a body or a batch over the limits', async () => {
    const app = await build({ maxBodyBytes: 2048, maxBatch: 3 });
    const big = await app.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload: { events: [ev({ user_agent: 'x'.repeat(3000) })] } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('VIGIE_INGEST_TOO_LARGE');
    const many = await app.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload: { events: [ev(), ev(), ev(), ev()] } });
    expect(many.statusCode).toBe(413);
    expect(many.json().error).toMatchObject({ code: 'VIGIE_INGEST_BATCH_TOO_LARGE' });
    expect(many.json().error.message).toContain('at most 3 events');
  });

  it('answers 400 naming the field and the index, and stores nothing of the batch', async () => {
    const app = await build();
    const before = await counts();
    const r = await app.inject({
      method: 'POST',
      url: INGEST_PATH,
      headers: auth,
      payload: { events: [ev(), ev({ at: 'hier' }), ev({ stauts: 401 }), ev({ kind: 'http_403', status: 401 }), ev({ ip: '10.0.0.1:443' })] },
    });
    expect(r.statusCode).toBe(400);
    const body = r.json() as { error: { code: string; message: string; details: Array<{ path: string; message: string }> } };
    expect(body.error.code).toBe('VIGIE_INGEST_INVALID');
    expect(body.error.message).toContain('events[1].at');
    const paths = body.error.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['events[1].at', 'events[2].stauts', 'events[3].status', 'events[4].ip']));
    expect(body.error.details.find((d) => d.path === 'events[2].stauts')?.message).toBe('unknown field');
    expect(await counts()).toEqual(before);
  });

  it('answers 400 for malformed JSON, an empty body and a wrong top-level shape', async () => {
    const app = await build();
    for (const payload of ['{"events": [', '', '[]', '{"events": {}}', '{"events": []}', '{"__proto__": {"x": 1}}', 'null']) {
      const r = await app.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload });
      expect(r.statusCode, payload).toBe(400);
      expect(r.json().error.code, payload).toMatch(/^VIGIE_INGEST_(MALFORMED|INVALID)$/);
    }
  });

  it('stores a valid batch and its outbox event together, resolving the account from the email', async () => {
    const app = await build();
    const userId = randomUUID();
    const email = `ingest-${userId.slice(0, 8)}@example.com`;
    await admin.query('insert into auth.users (id, email) values ($1, $2)', [userId, email]);
    const r = await app.inject({
      method: 'POST',
      url: INGEST_PATH,
      headers: auth,
      payload: {
        events: [
          ev({ email: ` ${email.toUpperCase()} `, user_agent: 'Mozilla/5.0', path: '/auth/v1/token', method: 'POST', status: 400 }),
          ev({ kind: 'http_403', ip: '2001:db8::1', email: null, user_id: userId, status: 403, details: { table: 'stocks_adjustments' } }),
        ],
      },
    });
    expect(r.statusCode).toBe(202);
    const { batch_id, accepted, duplicate } = r.json() as { batch_id: string; accepted: number; duplicate: boolean };
    expect({ accepted, duplicate }).toEqual({ accepted: 2, duplicate: false });
    const rows = await admin.query('select kind, email, host(ip) as ip, account_id, details from vigie.access_events where batch_id = $1 order by seq', [batch_id]);
    expect(rows.rows).toEqual([
      { kind: 'login_failed', email, ip: '203.0.113.7', account_id: userId, details: {} },
      { kind: 'http_403', email: null, ip: '2001:db8::1', account_id: userId, details: { table: 'stocks_adjustments' } },
    ]);
    const out = await admin.query("select entity_id, payload from vigie.outbox where kind = 'access.event' and entity_id = $1", [batch_id]);
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0].payload).toMatchObject({ batch_id, count: 2 });
  });

  it('stores a batch retried with the same Idempotency-Key once', async () => {
    const app = await build();
    const key = `retry-${randomUUID()}`;
    const first = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { ...auth, 'idempotency-key': key }, payload: { events: [ev()] } });
    expect(first.statusCode).toBe(202);
    const before = await counts();
    const again = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { ...auth, 'idempotency-key': key }, payload: { events: [ev()] } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ batch_id: first.json().batch_id, duplicate: true });
    expect(await counts()).toEqual(before);
    const bad = await app.inject({ method: 'POST', url: INGEST_PATH, headers: { ...auth, 'idempotency-key': 'spaces are not ok' }, payload: { events: [ev()] } });
    expect(bad.statusCode).toBe(400);
  });

  it('answers 429 with Retry-After past the request rate', async () => {
    const app = await build({ ratePerMinute: 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ method: 'POST', url: INGEST_PATH, headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const r = await app.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload: { events: [ev()] } });
    expect(r.statusCode).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(r.json().error.code).toBe('VIGIE_INGEST_RATE_LIMITED');
  });

  it('counts one client address across listener replicas that share Redis', async () => {
    const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 2 });
    const prefix = uniquePrefix('ingest-rl');
    try {
      const [a, b] = [await build({ ratePerMinute: 4, redis, rateLimitPrefix: prefix }), await build({ ratePerMinute: 4, redis, rateLimitPrefix: prefix })];
      const codes: number[] = [];
      // The client's requests land on either replica (a load balancer in front of them).
      for (const app of [a, b, a, b, a, b]) codes.push((await app!.inject({ method: 'POST', url: INGEST_PATH, headers: auth, payload: { events: [ev()] } })).statusCode);
      expect(codes).toEqual([202, 202, 202, 202, 429, 429]);
    } finally {
      await deletePrefix(prefix);
      redis.disconnect();
    }
  });
});
