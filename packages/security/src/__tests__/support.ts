import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { SECURITY_EVENT_KINDS, handleSecurityEvent } from '../handle.js';
import type { SecuritySettings } from '../settings.js';
import type { SecurityFinding } from '../types.js';

/**
 * A test database (reference schema + Vigie migrations), an owner pool that
 * plays ML_PP and Supabase, and a vigie_app pool that plays the evaluator.
 */
export interface Env {
  db: TestDatabase;
  admin: pg.Pool;
  app: pg.Pool;
  close: () => Promise<void>;
}

export async function setup(prefix: string): Promise<Env> {
  const db = await createTestDatabase({ prefix });
  const admin = new pg.Pool({ connectionString: db.url, max: 4 });
  const app = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  return {
    db,
    admin,
    app,
    close: async () => {
      await app.end();
      await admin.end();
      await db.drop();
    },
  };
}

export interface TestUser {
  userId: string;
  profilId: string;
  email: string;
}

/** A Supabase user with its profile, created by the owner (as ML_PP's admin tooling would). */
export async function createUser(admin: pg.Pool, role: string, tag = role): Promise<TestUser> {
  const userId = randomUUID();
  const email = `${tag}-${userId.slice(0, 8)}@monaluxe.test`;
  await admin.query('insert into auth.users (id, email) values ($1, $2)', [userId, email]);
  const { rows } = await admin.query<{ id: string }>(
    'insert into public.profils (user_id, role, email, nom_complet) values ($1, $2, $3, $4) returning id',
    [userId, role, email, `Test ${tag}`],
  );
  return { userId, profilId: rows[0]!.id, email };
}

/** Runs statements as a signed-in app user: role authenticated and the JWT claims PostgREST sets. */
export async function asUser<T>(admin: pg.Pool, userId: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await admin.connect();
  try {
    await c.query('begin');
    await c.query('set local role authenticated');
    await c.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: userId, role: 'authenticated' })]);
    const out = await fn(c);
    await c.query('commit');
    return out;
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

export async function mark(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ m: string }>('select coalesce(max(id), 0)::text as m from vigie.outbox');
  return Number(rows[0]!.m);
}

/**
 * What the evaluator does for security events: every unprocessed security
 * event after `after`, in order, through handleSecurityEvent as vigie_app,
 * then marked processed.
 */
export async function processEvents(
  env: Env,
  after: number,
  settings: SecuritySettings,
): Promise<{ findings: SecurityFinding[]; journaled: number; events: number }> {
  const { rows } = await env.admin.query<{ id: string; kind: string; entity_id: string; payload: unknown; created_at: Date }>(
    `select id::text, kind, entity_id, payload, created_at from vigie.outbox
      where id > $1 and processed_at is null and kind = any($2::text[]) order by id`,
    [after, [...SECURITY_EVENT_KINDS]],
  );
  const out = { findings: [] as SecurityFinding[], journaled: 0, events: rows.length };
  for (const r of rows) {
    const res = await handleSecurityEvent(env.app, { ...r, id: Number(r.id) }, settings);
    out.findings.push(...res.findings);
    out.journaled += res.journaled;
    await env.admin.query('update vigie.outbox set processed_at = clock_timestamp() where id = $1', [r.id]);
  }
  return out;
}

export interface AlertRow {
  id: string;
  check_code: string;
  severity: string;
  entity_type: string;
  entity_id: string;
  status: string;
  message: string;
  payload: Record<string, unknown>;
}

export async function alerts(admin: pg.Pool, code: string): Promise<AlertRow[]> {
  const { rows } = await admin.query<AlertRow>(
    'select id, check_code, severity, entity_type, entity_id, status, message, payload from public.system_alerts where check_code = $1 order by created_at, id',
    [code],
  );
  return rows;
}

export interface JournalRow {
  id: string;
  at: Date;
  kind: string;
  severity: string;
  actor_user_id: string | null;
  actor_email: string | null;
  actor_role: string | null;
  ip: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  details: Record<string, unknown>;
  check_codes: string[];
  alert_ids: string[];
  source: string;
  source_key: string;
}

export async function journal(admin: pg.Pool, where = 'true', params: unknown[] = []): Promise<JournalRow[]> {
  const { rows } = await admin.query<JournalRow>(
    `select id::text, at, kind, severity, actor_user_id, actor_email, actor_role, host(ip) as ip, target_type, target_id, target_label,
            details, check_codes, alert_ids::text[] as alert_ids, source, source_key
       from vigie.security_journal where ${where} order by id`,
    params,
  );
  return rows;
}

/** A Supabase Auth journal entry, as GoTrue writes it. */
export async function authAudit(admin: pg.Pool, o: { action: string; actorId: string; email: string; ip: string; traits?: Record<string, unknown> }): Promise<string> {
  const id = randomUUID();
  await admin.query(
    `insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
     values ('00000000-0000-0000-0000-000000000000', $1, $2::json, now(), $3)`,
    [id, JSON.stringify({ action: o.action, actor_id: o.actorId, actor_username: o.email, log_type: 'account', ...(o.traits ? { traits: o.traits } : {}) }), o.ip],
  );
  return id;
}

/** Working hours that exclude (or include) the current local time in `tz`, whatever the hour the tests run. */
export function hoursAround(tz: string, include: boolean): string {
  if (include) return 'mon-sun 00:00-24:00';
  const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
  return hour < 12 ? 'mon-sun 13:00-14:00' : 'mon-sun 01:00-02:00';
}
