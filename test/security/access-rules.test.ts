import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securitySettings, securitySweep } from '@vigie/security';
import { createUser, type Ingest, mark, processEvents, startIngest, testIp } from './support.js';

// The access rules fired from their real source: batches posted to the
// listener's POST /v1/access-events, then evaluated as the evaluator does.
const S = securitySettings({ workingHours: null, workingHoursText: 'always' });
let db: TestDatabase;
let admin: pg.Pool;
let app: pg.Pool;
let ingest: Ingest;

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'secaccess' });
  admin = new pg.Pool({ connectionString: db.url, max: 3 });
  app = new pg.Pool({ connectionString: db.appUrl, max: 3 });
  ingest = await startIngest(db);
});
afterAll(async () => {
  await ingest?.stop();
  await app?.end();
  await admin?.end();
  await db?.drop();
});

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

async function post(events: Array<Record<string, unknown>>): Promise<string> {
  const r = await ingest.post({ events });
  expect(r.status).toBe(202);
  return (r.json() as { batch_id: string }).batch_id;
}

async function alertsFor(code: string, entityKey: string): Promise<Array<{ id: string; severity: string; status: string; message: string; payload: Record<string, unknown> }>> {
  const { rows } = await admin.query(
    `select id, severity, status, message, payload from public.system_alerts
      where check_code = $1 and (payload->>'email' = $2 or payload->>'ip' = $2 or payload->>'user' = $2)`,
    [code, entityKey],
  );
  return rows;
}

describe('failed-login bursts', () => {
  it('SEC_LOGIN_FAILED_BURST_ACCOUNT fires at 5 failures in 15 min on one account (CRITICAL on an admin), every failure journaled', async () => {
    const target = await createUser(admin, 'admin', 'target');
    const [ip1, ip2] = [testIp(), testIp()];
    const m = await mark(admin);
    const batch = await post(
      Array.from({ length: 5 }, (_, i) => ({ at: ago((5 - i) * 30_000), kind: 'login_failed', email: target.email.toUpperCase(), ip: i % 2 ? ip1 : ip2, user_agent: 'curl/8' })),
    );
    const res = await processEvents(admin, app, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity])).toEqual([['SEC_LOGIN_FAILED_BURST_ACCOUNT', 'CRITICAL']]);
    const [alert] = await alertsFor('SEC_LOGIN_FAILED_BURST_ACCOUNT', target.email);
    expect(alert).toMatchObject({ status: 'OPEN', severity: 'CRITICAL' });
    expect(alert!.message).toBe(`5 échecs de connexion en 15 min sur le compte ${target.email} (admin), depuis 2 adresses`);
    expect(alert!.payload).toMatchObject({ family: 'security', user: target.userId, email: target.email });
    const { rows } = await admin.query(
      `select j.kind, j.severity, j.actor_user_id, j.actor_role, j.check_codes, j.alert_ids::text[] as alert_ids, j.user_agent
         from vigie.security_journal j join vigie.access_events e on j.source_key = 'access:' || e.id where e.batch_id = $1 order by e.seq`,
      [batch],
    );
    expect(rows).toHaveLength(5);
    for (const r of rows)
      expect(r).toMatchObject({
        kind: 'login_failed',
        severity: 'CRITICAL',
        actor_user_id: target.userId,
        actor_role: 'admin',
        check_codes: ['SEC_LOGIN_FAILED_BURST_ACCOUNT'],
        alert_ids: [alert!.id],
        user_agent: 'curl/8',
      });
  });

  it('does not fire below the threshold, nor for successful logins (failures still journaled, INFO)', async () => {
    const u = await createUser(admin, 'operateur', 'typo');
    const ip = testIp();
    const m = await mark(admin);
    const batch = await post([
      ...Array.from({ length: 4 }, () => ({ at: ago(60_000), kind: 'login_failed', email: u.email, ip })),
      ...Array.from({ length: 10 }, () => ({ at: ago(30_000), kind: 'login_succeeded', user_id: u.userId, ip })),
    ]);
    const res = await processEvents(admin, app, m, S);
    expect(res.findings).toEqual([]);
    const { rows } = await admin.query(
      `select j.kind, j.severity from vigie.security_journal j join vigie.access_events e on j.source_key = 'access:' || e.id where e.batch_id = $1`,
      [batch],
    );
    expect(rows).toEqual(Array.from({ length: 4 }, () => ({ kind: 'login_failed', severity: 'INFO' })));
  });

  it('SEC_LOGIN_FAILED_BURST_IP fires at 20 failures from one address, CRITICAL when it sprays 3+ accounts', async () => {
    const ip = testIp();
    const m = await mark(admin);
    await post(Array.from({ length: 20 }, (_, i) => ({ at: ago(60_000 - i * 1000), kind: 'login_failed', email: `victim${i % 5}@monaluxe.test`, ip })));
    const res = await processEvents(admin, app, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity])).toEqual([['SEC_LOGIN_FAILED_BURST_IP', 'CRITICAL']]);
    expect(res.findings[0]!.message).toBe(`20 échecs de connexion en 15 min depuis ${ip}, sur 5 comptes`);
    const quiet = testIp();
    const m2 = await mark(admin);
    await post(Array.from({ length: 19 }, (_, i) => ({ at: ago(60_000 - i * 1000), kind: 'login_failed', email: `other${i % 5}@monaluxe.test`, ip: quiet })));
    expect((await processEvents(admin, app, m2, S)).findings).toEqual([]);
  });

  it('counts bursts across batches, and a replayed batch event changes nothing', async () => {
    const u = await createUser(admin, 'lecture', 'split');
    const ip = testIp();
    const m = await mark(admin);
    await post(Array.from({ length: 3 }, () => ({ at: ago(90_000), kind: 'login_failed', email: u.email, ip })));
    expect((await processEvents(admin, app, m, S)).findings).toEqual([]);
    const m2 = await mark(admin);
    await post(Array.from({ length: 2 }, () => ({ at: ago(10_000), kind: 'login_failed', email: u.email, ip })));
    const res = await processEvents(admin, app, m2, S);
    expect(res.findings.map((f) => [f.check_code, f.severity])).toEqual([['SEC_LOGIN_FAILED_BURST_ACCOUNT', 'WARN']]);
    const before = await admin.query('select count(*)::int as n from vigie.security_journal');
    await admin.query('update vigie.outbox set processed_at = null where id > $1', [m2]);
    const again = await processEvents(admin, app, m2, S);
    expect(again).toEqual({ findings: [], journaled: 0 });
    expect((await admin.query('select count(*)::int as n from vigie.security_journal')).rows[0].n).toBe(before.rows[0].n);
  });
});

describe('401/403 bursts', () => {
  it('SEC_ACCESS_DENIED_BURST_USER fires at 20 denials for one user in 5 min; 19 do not', async () => {
    const u = await createUser(admin, 'operateur', 'curious');
    const quiet = await createUser(admin, 'operateur', 'quiet');
    const ip = testIp();
    const m = await mark(admin);
    await post([
      ...Array.from({ length: 20 }, (_, i) => ({ at: ago(100_000 - i * 1000), kind: i % 2 ? 'http_403' : 'app_denied', user_id: u.userId, ip, path: '/rest/v1/stocks_adjustments', method: 'POST', status: i % 2 ? 403 : undefined })),
      ...Array.from({ length: 19 }, () => ({ at: ago(50_000), kind: 'http_403', user_id: quiet.userId, ip: testIp(), path: '/rest/v1/profils', method: 'PATCH', status: 403 })),
    ]);
    const res = await processEvents(admin, app, m, S);
    expect(res.findings.map((f) => [f.check_code, f.payload.user])).toEqual([['SEC_ACCESS_DENIED_BURST_USER', u.userId]]);
    expect(res.findings[0]!.message).toBe(`20 accès refusés (401/403) en 5 min pour ${u.email} (operateur), depuis 1 adresse`);
    const { rows } = await admin.query(
      "select target_type, target_id, details from vigie.security_journal where actor_user_id = $1 and kind = 'http_403' limit 1",
      [u.userId],
    );
    expect(rows[0]).toMatchObject({ target_type: 'PATH', target_id: 'POST /rest/v1/stocks_adjustments', details: { status: 403 } });
  });

  it('SEC_ACCESS_DENIED_BURST_IP fires at 50 denials from one address; 49 do not', async () => {
    const ip = testIp();
    const quiet = testIp();
    const m = await mark(admin);
    await post([
      ...Array.from({ length: 50 }, (_, i) => ({ at: ago(100_000 - i * 500), kind: 'http_401', ip, path: '/rest/v1/citernes', method: 'GET', status: 401 })),
      ...Array.from({ length: 49 }, (_, i) => ({ at: ago(100_000 - i * 500), kind: 'http_401', ip: quiet, path: '/rest/v1/citernes', method: 'GET' })),
    ]);
    const res = await processEvents(admin, app, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity, f.payload.ip])).toEqual([['SEC_ACCESS_DENIED_BURST_IP', 'WARN', ip]]);
  });
});

describe('admin sign-in from a new address (application login_succeeded)', () => {
  it('fires on the second, unseen address of an admin; not for a known one', async () => {
    const a = await createUser(admin, 'admin', 'roam');
    const [home, away] = [testIp(), testIp()];
    const m = await mark(admin);
    await post([
      { at: ago(60_000), kind: 'login_succeeded', user_id: a.userId, ip: home },
      { at: ago(50_000), kind: 'login_succeeded', user_id: a.userId, ip: home },
    ]);
    expect((await processEvents(admin, app, m, S)).findings).toEqual([]);
    const m2 = await mark(admin);
    await post([{ at: ago(10_000), kind: 'login_succeeded', email: a.email, ip: away, user_agent: 'Mozilla/5.0' }]);
    const res = await processEvents(admin, app, m2, S);
    expect(res.findings.map((f) => [f.check_code, f.payload.ip])).toEqual([['SEC_ADMIN_NEW_ADDRESS', away]]);
    const { rows } = await admin.query("select kind, user_agent, actor_role from vigie.security_journal where actor_user_id = $1 and kind = 'login_succeeded'", [a.userId]);
    expect(rows).toEqual([{ kind: 'login_succeeded', user_agent: 'Mozilla/5.0', actor_role: 'admin' }]);
  });
});

describe('sweep', () => {
  it('resolves a burst once its window is quiet', async () => {
    const ip = testIp();
    const m = await mark(admin);
    // A late batch: the burst happened 20 minutes ago (window 15 min).
    await post(Array.from({ length: 20 }, (_, i) => ({ at: ago(20 * 60_000 + i * 1000), kind: 'login_failed', email: `late${i % 5}@monaluxe.test`, ip })));
    const res = await processEvents(admin, app, m, S);
    expect(res.findings.map((f) => [f.check_code, f.severity])).toEqual([['SEC_LOGIN_FAILED_BURST_IP', 'CRITICAL']]);
    expect((await alertsFor('SEC_LOGIN_FAILED_BURST_IP', ip))[0]!.status).toBe('OPEN');
    await securitySweep(app, S);
    expect((await alertsFor('SEC_LOGIN_FAILED_BURST_IP', ip))[0]!.status).toBe('RESOLVED');
  });
});
