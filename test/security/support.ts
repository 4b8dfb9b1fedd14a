import { randomBytes, randomUUID } from 'node:crypto';
import { type RunningListener, startListener } from '@vigie/listener';
import { loadListenerConfig } from '@vigie/listener/config';
import { type TestDatabase, deletePrefix, testRedisUrl, uniquePrefix } from '@vigie/testkit';
import type pg from 'pg';
// TODO(lead): import from '@vigie/security' once `npm install` links the new
// workspace; the relative path to its build is a temporary measure.
import { SECURITY_EVENT_KINDS, type SecurityFinding, type SecuritySettings, handleSecurityEvent } from '@vigie/security';
import { freePort } from '../support/processes.js';

export const INGEST_TOKEN = randomBytes(32).toString('hex');

export interface Ingest {
  listener: RunningListener;
  post: (body: unknown, headers?: Record<string, string>) => Promise<{ status: number; json: () => unknown; headers: Record<string, unknown> }>;
  stop: () => Promise<void>;
}

/** The real listener (config, app, ingest route, readiness) on the test database, as vigie_app. */
export async function startIngest(db: TestDatabase, env: Record<string, string> = {}): Promise<Ingest> {
  const prefix = uniquePrefix('sec');
  const cfg = loadListenerConfig({
    APP_ENV: 'local',
    APP_RELEASE: 'test-security',
    DATABASE_URL: db.appUrl,
    REDIS_URL: testRedisUrl,
    VIGIE_QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    LOG_LEVEL: 'silent',
    VIGIE_INGEST_TOKEN: INGEST_TOKEN,
    VIGIE_INGEST_RATE_PER_MIN: '100000',
    ...env,
  });
  const listener = await startListener(cfg);
  return {
    listener,
    post: async (body, headers = {}) => {
      const r = await listener.app.inject({
        method: 'POST',
        url: '/v1/access-events',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: r.statusCode, json: () => r.json(), headers: r.headers };
    },
    stop: async () => {
      await listener.stop();
      await deletePrefix(prefix);
    },
  };
}

/** What the evaluator does for security events after `after`: handle each as vigie_app, then mark it processed. */
export async function processEvents(admin: pg.Pool, app: pg.Pool, after: number, settings: SecuritySettings): Promise<{ findings: SecurityFinding[]; journaled: number }> {
  const { rows } = await admin.query<{ id: string; kind: string; entity_id: string; payload: unknown; created_at: Date }>(
    `select id::text, kind, entity_id, payload, created_at from vigie.outbox
      where id > $1 and processed_at is null and kind = any($2::text[]) order by id`,
    [after, [...SECURITY_EVENT_KINDS]],
  );
  const out = { findings: [] as SecurityFinding[], journaled: 0 };
  for (const r of rows) {
    const res = await handleSecurityEvent(app, { ...r, id: Number(r.id) }, settings);
    out.findings.push(...res.findings);
    out.journaled += res.journaled;
    await admin.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1', [r.id]);
  }
  return out;
}

export async function mark(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ m: string }>('select coalesce(max(id), 0)::text as m from vigie.outbox');
  return Number(rows[0]!.m);
}

export async function createUser(admin: pg.Pool, role: string, tag = role): Promise<{ userId: string; email: string }> {
  const userId = randomUUID();
  const email = `${tag}-${userId.slice(0, 8)}@monaluxe.test`;
  await admin.query('insert into auth.users (id, email) values ($1, $2)', [userId, email]);
  await admin.query('insert into public.profils (user_id, role, email) values ($1, $2, $3)', [userId, role, email]);
  return { userId, email };
}

/** A distinct documentation address per call (RFC 5737 / 3849 ranges). */
let n = 0;
export function testIp(): string {
  n++;
  return `198.18.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}
