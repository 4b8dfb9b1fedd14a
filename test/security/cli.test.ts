import { randomUUID } from 'node:crypto';
import { runCli } from '@vigie/cli';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `vigie security journal` as the on-call engineer runs it, as vigie_app.
let db: TestDatabase;
let app: pg.Pool;
const admin = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase({ prefix: 'seccli' });
  app = new pg.Pool({ connectionString: db.appUrl, max: 2 });
  const rows: Array<[string, string, string, string | null, string | null, string | null, string[], string]> = [
    [new Date(Date.now() - 3 * 3_600_000).toISOString(), 'login_failed', 'INFO', null, 'intrus@example.com', '203.0.113.8', [], 'a:1'],
    [new Date(Date.now() - 2 * 3_600_000).toISOString(), 'role_changed', 'CRITICAL', admin, 'chef@monaluxe.test', null, ['SEC_ROLE_CHANGED'], 'a:2'],
    [new Date(Date.now() - 30 * 3_600_000).toISOString(), 'http_403', 'INFO', admin, 'chef@monaluxe.test', '203.0.113.9', [], 'a:3'],
  ];
  for (const [at, kind, severity, actor, email, ip, codes, key] of rows)
    await app.query(
      `insert into vigie.security_journal (at, kind, severity, actor_user_id, actor_email, actor_role, ip, target_type, target_label, check_codes, source, source_key)
       values ($1, $2, $3, $4, $5, 'admin', $6, 'PROFIL', 'cible@monaluxe.test', $7, 'test', $8)`,
      [at, kind, severity, actor, email, ip, codes, key],
    );
});
afterAll(async () => {
  await app?.end();
  await db?.drop();
});

async function vigie(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { DATABASE_URL: db.appUrl, VIGIE_TZ: 'Africa/Lubumbashi', APP_RELEASE: 'test' }, {
    out: (l = '') => out.push(l),
    err: (l = '') => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('vigie security journal', () => {
  it('lists the last 24 h in French, newest first', async () => {
    const r = await vigie('security', 'journal');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^Quand \(Africa\/Lubumbashi\)\s+Type\s+Gravité\s+Acteur\s+Rôle\s+Adresse\s+Cible\s+Alertes$/);
    expect(lines[2]).toContain('role_changed');
    expect(lines[2]).toContain('SEC_ROLE_CHANGED');
    expect(lines[3]).toContain('login_failed');
    expect(lines[3]).toContain('203.0.113.8');
    expect(r.out).not.toContain('http_403');
    expect(r.out).toContain('2 évènement(s) depuis le');
  });

  it('filters by time, kind and actor, and prints JSON', async () => {
    const r = await vigie('security', 'journal', '--since', '2d', '--actor', 'CHEF@monaluxe.test', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Array<{ kind: string; actor_user_id: string }>;
    expect(rows.map((x) => x.kind)).toEqual(['role_changed', 'http_403']);
    const byKind = JSON.parse((await vigie('security', 'journal', '--since', '2d', '--kind', 'http_403,login_failed', '--json')).out) as Array<{ kind: string }>;
    expect(byKind.map((x) => x.kind)).toEqual(['login_failed', 'http_403']);
    const byId = JSON.parse((await vigie('security', 'journal', '--since', '2d', '--actor', admin, '--severity', 'critical', '--json')).out) as unknown[];
    expect(byId).toHaveLength(1);
  });

  it('says so when there is nothing, and refuses bad input with the usage', async () => {
    expect((await vigie('security', 'journal', '--since', '10m')).out).toContain('Aucun accès suspect depuis le');
    const bad = await vigie('security', 'journal', '--since', 'hier');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('durée ou date illisible');
    expect(bad.err).toContain('usage : vigie security journal');
    expect((await vigie('security', 'nope')).code).toBe(2);
  });
});
