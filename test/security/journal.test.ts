import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// vigie.security_journal is append-only: no UPDATE, DELETE or TRUNCATE for
// Vigie's own role (no grant) nor for the owner (trigger), and invisible to
// Supabase's API roles.
let db: TestDatabase;
let owner: pg.Pool;
let app: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'secjournal' });
  owner = new pg.Pool({ connectionString: db.url, max: 2 });
  app = new pg.Pool({ connectionString: db.appUrl, max: 2 });
  await app.query(
    `insert into vigie.security_journal (at, kind, severity, actor_email, ip, details, source, source_key)
     values (now(), 'login_failed', 'INFO', 'someone@monaluxe.test', '203.0.113.5', '{"status": 400}', 'access_events', 'test:1')`,
  );
});
afterAll(async () => {
  await app?.end();
  await owner?.end();
  await db?.drop();
});

async function sqlstate(pool: pg.Pool, sql: string, role?: string): Promise<{ code: string | undefined; message: string }> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    if (role) await c.query(`set local role ${role}`);
    await c.query(sql);
    await c.query('rollback');
    return { code: 'ok', message: '' };
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  } finally {
    c.release();
  }
}

describe('vigie.security_journal', () => {
  it('lets vigie_app append and read', async () => {
    const { rows } = await app.query("select kind, host(ip) as ip from vigie.security_journal where source_key = 'test:1'");
    expect(rows).toEqual([{ kind: 'login_failed', ip: '203.0.113.5' }]);
  });

  it.each([
    ["update vigie.security_journal set severity = 'CRITICAL'"],
    ["update vigie.security_journal set details = '{}' where source_key = 'test:1'"],
    ['delete from vigie.security_journal'],
    ['truncate vigie.security_journal'],
    ['alter table vigie.security_journal disable trigger security_journal_no_update_delete'],
    ['drop trigger security_journal_no_update_delete on vigie.security_journal'],
    ['alter table vigie.security_journal disable row level security'],
  ])('refuses to vigie_app: %s', async (sql) => {
    const r = await sqlstate(app, sql);
    expect(r.code).toBe('42501');
  });

  it.each([
    ["update vigie.security_journal set severity = 'CRITICAL'"],
    ['delete from vigie.security_journal'],
    ['truncate vigie.security_journal'],
  ])('refuses even to the owner: %s', async (sql) => {
    const r = await sqlstate(owner, sql);
    expect(r.code).toBe('42501');
    expect(r.message).toContain('VIGIE_JOURNAL_APPEND_ONLY');
  });

  it('is not readable by anon or authenticated, nor are the access events', async () => {
    for (const role of ['anon', 'authenticated'])
      for (const table of ['vigie.security_journal', 'vigie.access_events', 'vigie.known_addresses']) {
        const r = await sqlstate(owner, `select * from ${table}`, role);
        expect(r.code, `${role} ${table}`).toBe('42501');
      }
  });

  it('keeps the row intact after every attempt', async () => {
    const { rows } = await owner.query("select severity, details from vigie.security_journal where source_key = 'test:1'");
    expect(rows).toEqual([{ severity: 'INFO', details: { status: 400 } }]);
  });

  it('access events are written only through vigie.ingest_access_events, never changed', async () => {
    expect((await sqlstate(app, "insert into vigie.access_events (batch_id, seq, at, kind) values (gen_random_uuid(), 1, now(), 'login_failed')")).code).toBe('42501');
    await app.query("select * from vigie.ingest_access_events('[{\"at\": \"2026-01-01T00:00:00Z\", \"kind\": \"login_failed\", \"ip\": \"203.0.113.9\"}]')");
    expect((await sqlstate(app, 'update vigie.access_events set ip = null')).code).toBe('42501');
    expect((await sqlstate(app, 'delete from vigie.access_events')).code).toBe('42501');
  });
});
