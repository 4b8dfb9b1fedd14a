import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_TOKEN, type Ingest, startIngest } from './support.js';

// Thousands of malformed, oversized, wrongly typed and unauthenticated
// requests through the real listener (app.inject): every one gets a 4xx,
// nothing of any of them is written, and the service stays ready.
const REQUESTS = 4_000;
const MAX_BATCH = 50;
const MAX_BODY = 64 * 1024;

let db: TestDatabase;
let admin: pg.Pool;
let ingest: Ingest;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'secfuzz' });
  admin = new pg.Pool({ connectionString: db.url, max: 2 });
  ingest = await startIngest(db, { VIGIE_INGEST_MAX_BATCH: String(MAX_BATCH), VIGIE_INGEST_MAX_BODY_BYTES: String(MAX_BODY) });
});
afterAll(async () => {
  await ingest?.stop();
  await admin?.end();
  await db?.drop();
});

/** Deterministic PRNG (mulberry32): a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Req = { method: string; url: string; headers: Record<string, string>; payload?: string; what: string };

const valid = (): Record<string, unknown> => ({
  at: new Date().toISOString(),
  kind: 'login_failed',
  email: 'fuzz@monaluxe.test',
  ip: '203.0.113.50',
  user_agent: 'fuzz/1',
  path: '/auth/v1/token',
  method: 'POST',
  status: 400,
  details: { reason: 'invalid_grant' },
});

// Values each field can never accept (null is allowed on optional fields, so never used there).
const BAD: Record<string, unknown[]> = {
  at: [null, '', 'hier', '2026-01-01', '2026-01-01T00:00:00', '1999-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 12345, true, [], {}, '2026-13-45T99:99:99Z'],
  kind: [null, '', 'LOGIN_FAILED', 'sql_injection', 1, [], {}, "login_failed'; drop table vigie.outbox; --"],
  user_id: ['not-a-uuid', '', `${randomUUID()}x`, 42, true, [], {}, '\u0000'],
  email: ['', '   ', 'a\u0000b@x', 'x'.repeat(321), 'a\nb@x', 7, false, ['a@b'], { a: 1 }, '\ud800'],
  role: ['Admin', 'rôle', '', 'a'.repeat(41), 'admin;', 3, [], {}],
  ip: ['999.1.1.1', '1.2.3.4/24', 'fe80::1%eth0', '', 'localhost', '10.0.0.1:443', 4, [], {}, '::ffff:1.2.3.4.5'],
  user_agent: ['x'.repeat(513), 'a\u0000', '\udc00', 1, [], {}],
  path: ['/'.repeat(2049), 'p\u0000', 9, true, []],
  method: ['get', 'CONNECT', 7, '', [], {}],
  status: [99, 600, 1.5, '401', -1, true, [], {}, 1e21],
  details: ['text', 1, true, [1, 2], { nul: 'a\u0000' }, { big: 'x'.repeat(5000) }, JSON.parse(`${'{"a":'.repeat(20)}1${'}'.repeat(20)}`), { ['k\ud800']: 1 }],
};
const FIELDS = Object.keys(BAD);

function generate(rnd: () => number, i: number): Req {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const auth = { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' };
  const body = (events: unknown[]) => JSON.stringify({ events });
  const badEvent = (): Record<string, unknown> => {
    const e = valid();
    const roll = rnd();
    if (roll < 0.75) {
      const f = pick(FIELDS);
      e[f] = pick(BAD[f] as unknown[]);
    } else if (roll < 0.85) {
      e[pick(['stauts', 'ip_address', 'userId', '__x', 'constructor'])] = 1;
    } else if (roll < 0.93) {
      delete e.email;
      delete e.ip;
      delete e.user_id;
    } else {
      e.kind = pick(['http_401', 'http_403', 'http_429']);
      e.status = 200;
    }
    return e;
  };
  switch (i % 12) {
    case 0: // unauthenticated
      return {
        method: 'POST',
        url: '/v1/access-events',
        headers: pick<Record<string, string>>([
          { 'content-type': 'application/json' },
          { 'content-type': 'application/json', authorization: 'Bearer' },
          { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}x` },
          { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN.slice(1)}` },
          { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`x:${INGEST_TOKEN}`).toString('base64')}` },
          { 'content-type': 'application/json', authorization: `Token ${INGEST_TOKEN}` },
          { 'content-type': 'application/json', authorization: `Bearer ${randomUUID()}` },
        ]),
        payload: body([valid()]),
        what: 'unauthenticated',
      };
    case 1: // wrong content type
      return {
        method: 'POST',
        url: '/v1/access-events',
        headers: { ...auth, 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonx', 'application/xml']) },
        payload: body([valid()]),
        what: 'content type',
      };
    case 2: // malformed JSON
      return {
        method: 'POST',
        url: '/v1/access-events',
        headers: auth,
        payload: pick([
          '{"events": [',
          '{events: []}',
          "{'events': []}",
          '',
          '   ',
          'nul',
          '{"events": [{"at": "2026-01-01T00:00:00Z",}]}',
          '\u0000',
          Buffer.from(Array.from({ length: 64 }, () => Math.floor(rnd() * 256))).toString('latin1'),
          '{"__proto__": {"admin": true}, "events": []}',
          '{"constructor": {"prototype": {"x": 1}}, "events": []}',
          `${'['.repeat(5000)}${']'.repeat(5000)}`,
          `{"events": ${'['.repeat(2000)}${']'.repeat(2000)}}`,
          `{"events": [{"at": "${new Date().toISOString()}", "kind": "http_401", "ip": "203.0.113.1", "status": 1e309}]}`,
          `{"events": [{"at": "${new Date().toISOString()}", "kind": "http_401", "ip": "203.0.113.1", "details": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`,
        ]),
        what: 'malformed JSON',
      };
    case 3: // oversized body
      return { method: 'POST', url: '/v1/access-events', headers: auth, payload: body([{ ...valid(), details: { pad: 'x'.repeat(MAX_BODY) } }]), what: 'oversized body' };
    case 4: // too many events
      return { method: 'POST', url: '/v1/access-events', headers: auth, payload: body(Array.from({ length: MAX_BATCH + 1 + Math.floor(rnd() * 50) }, valid)), what: 'batch too large' };
    case 5: // wrong top-level shape
      return {
        method: 'POST',
        url: '/v1/access-events',
        headers: auth,
        payload: pick(['[]', 'null', '1', '"events"', '{}', '{"events": null}', '{"events": {}}', '{"events": []}', '{"events": [1, 2]}', '{"events": [[]]}', '{"events": [null]}', '{"events": [{}], "extra": 1}']),
        what: 'top-level shape',
      };
    case 6: // one bad event alone
      return { method: 'POST', url: '/v1/access-events', headers: auth, payload: body([badEvent()]), what: 'bad event' };
    case 7: // one bad event hidden among valid ones: nothing of the batch may be written
    case 8: {
      const events = Array.from({ length: 1 + Math.floor(rnd() * (MAX_BATCH - 1)) }, valid);
      events.splice(Math.floor(rnd() * (events.length + 1)), 0, badEvent());
      return { method: 'POST', url: '/v1/access-events', headers: auth, payload: body(events), what: 'mixed batch' };
    }
    case 9: // bad idempotency key on a valid batch
      return {
        method: 'POST',
        url: '/v1/access-events',
        headers: { ...auth, 'idempotency-key': pick(['has space', 'x'.repeat(129), 'é', '']) },
        payload: body([valid()]),
        what: 'idempotency key',
      };
    case 10: // other methods and paths
      return {
        method: pick(['GET', 'PUT', 'DELETE', 'PATCH']),
        url: pick(['/v1/access-events', '/v1/access-events/', '/v1/access-event', '/v2/access-events', '/v1/access-events/../../etc/passwd']),
        headers: auth,
        ...(rnd() < 0.5 ? { payload: body([valid()]) } : {}),
        what: 'method or path',
      };
    default: // several bad events, various types
      return { method: 'POST', url: '/v1/access-events', headers: auth, payload: body(Array.from({ length: 1 + Math.floor(rnd() * 5) }, badEvent)), what: 'bad events' };
  }
}

async function written(): Promise<{ events: number; batches: number; outbox: number }> {
  const { rows } = await admin.query<{ events: number; batches: number; outbox: number }>(
    `select (select count(*)::int from vigie.access_events) as events, (select count(*)::int from vigie.access_batches) as batches,
            (select count(*)::int from vigie.outbox where kind = 'access.event') as outbox`,
  );
  return rows[0]!;
}

describe('POST /v1/access-events under fuzzing', () => {
  it(`answers 4xx to ${REQUESTS} bad requests, writes nothing, and stays ready`, async () => {
    const rnd = prng(20260417);
    const app = ingest.listener.app;
    const statuses = new Map<number, number>();
    const offenders: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const req = generate(rnd, i);
      const r = await app.inject({ method: req.method as 'POST', url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (r.statusCode < 400 || r.statusCode >= 500) offenders.push(`#${i} ${req.what}: ${r.statusCode} ${r.body.slice(0, 200)} ← ${String(req.payload).slice(-300)}`);
      else if (r.headers['content-type']?.toString().includes('json') && req.url === '/v1/access-events') {
        const err = (r.json() as { error?: { code?: string; message?: string } }).error;
        if (!err?.code?.startsWith('VIGIE_INGEST_') || !err.message) offenders.push(`#${i} ${req.what}: no precise error ${r.body.slice(0, 200)}`);
      }
    }
    expect(offenders.slice(0, 10)).toEqual([]);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    for (const s of [400, 401, 404, 405, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    expect(await written()).toEqual({ events: 0, batches: 0, outbox: 0 });

    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    const ok = await ingest.post({ events: [valid()] });
    expect(ok.status).toBe(202);
    expect(await written()).toEqual({ events: 1, batches: 1, outbox: 1 });
  });
});
