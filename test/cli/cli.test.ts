import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { generateOperations } from '@vigie/seed';
import { createTestDatabase, type TestDatabase } from '@vigie/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';

function vigie(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [`${repoRoot}packages/cli/dist/bin.js`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

let empty: TestDatabase;
beforeAll(async () => {
  empty = await createTestDatabase({ kind: 'empty', prefix: 'cli' });
});
afterAll(async () => {
  await empty?.drop();
});

describe('vigie CLI', () => {
  it('prints its version with the release and lists commands', () => {
    const v = vigie(['--version']);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^vigie \d+\.\d+\.\d+ \(.+\)/);
    const h = vigie(['--help']);
    for (const c of ['migrate', 'seed', 'sweep', 'alerts', 'audit', 'lint', 'doctor']) expect(h.out).toContain(`  ${c}`);
  });

  it('refuses unknown commands and bad options with exit 2 and the usage', () => {
    expect(vigie(['frobnicate']).code).toBe(2);
    const bad = vigie(['seed', '--anomaly', 'NOPE'], { DATABASE_URL: empty.url });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('anomalie inconnue : NOPE');
    expect(bad.err).toContain('usage : vigie seed');
  });

  it('names the missing variable on one line, exit 78', () => {
    const r = vigie(['migrate']);
    expect(r.code).toBe(78);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('DATABASE_URL requis');
  });

  it('migrate on an empty database builds the reference DB and Vigie; a second run changes nothing', async () => {
    const first = vigie(['migrate'], { DATABASE_URL: empty.url });
    expect(first.code).toBe(0);
    expect(first.out).toContain('Base vide : installation de la base de référence ML_PP.');
    expect(first.out).toMatch(/référence ML_PP : \d+ migration\(s\) appliquée\(s\), 0 déjà en place/);
    expect(first.out).toMatch(/Vigie : \d+ migration\(s\) appliquée\(s\), 0 déjà en place/);
    const c = new pg.Client({ connectionString: empty.url });
    await c.connect();
    const snapshot = async () =>
      (
        await c.query(
          `select (select count(*) from vigie.schema_migrations) as ledger,
                  (select count(*) from pg_trigger where tgname like 'zz_vigie_%') as triggers,
                  (select count(*) from pg_class where relnamespace = 'vigie'::regnamespace) as relations`,
        )
      ).rows[0];
    const before = await snapshot();
    const second = vigie(['migrate'], { DATABASE_URL: empty.url });
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/référence ML_PP : 0 migration\(s\) appliquée\(s\)/);
    expect(second.out).toMatch(/Vigie : 0 migration\(s\) appliquée\(s\)/);
    expect(await snapshot()).toEqual(before);
    await c.end();
  });

  it('refuses to install the reference database in production', async () => {
    const db = await createTestDatabase({ kind: 'empty', prefix: 'cliprod' });
    try {
      const r = vigie(['migrate'], { DATABASE_URL: db.url, APP_ENV: 'production', APP_RELEASE: 'v1' });
      expect(r.code).toBe(1);
      expect(r.err).toContain('refus d’installer la base de référence ML_PP en production');
    } finally {
      await db.drop();
    }
  });

  it('audit rls: the hardened reference passes, the pre-hardening policies are flagged and anon really reads', async () => {
    const db = await createTestDatabase({ prefix: 'cliaudit' });
    try {
      const ok = vigie(['audit', 'rls'], { DATABASE_URL: db.url });
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('CONFORME');
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      // A few days of operations, so that the journal has rows anon could read.
      await generateOperations(c, { days: 2, movements: 20, seed: 7 });
      await c.query(readFileSync(`${repoRoot}infra/mlpp/fixtures/pre_hardening_policies.sql`, 'utf8'));
      await c.end();
      const bad = vigie(['audit', 'rls', '--json'], { DATABASE_URL: db.url });
      expect(bad.code).toBe(1);
      const report = JSON.parse(bad.out) as {
        findings: Array<{ code: string; severity: string; object: string }>;
        probe: Array<{ role: string; table: string; select: { outcome: string } }>;
      };
      const publicPolicies = report.findings.filter((f) => f.code === 'RLS_POLICY_PUBLIC_ROLE').map((f) => f.object);
      for (const name of ['read citernes', 'read stocks_journaliers', 'cours_de_route_select', 'sp_read', 'sp_delete'])
        expect(publicPolicies.some((o) => o.includes(name))).toBe(true);
      const anonReads = report.probe.filter((p) => p.role === 'anon' && p.select.outcome === 'allowed').map((p) => p.table);
      expect(anonReads).toEqual(expect.arrayContaining(['public.citernes', 'public.stocks_journaliers']));
    } finally {
      await db.drop();
    }
  });

  it('doctor says what is fine and what to fix: pooler URL for LISTEN, a disabled capture trigger', async () => {
    const db = await createTestDatabase({ prefix: 'clidoctor' });
    try {
      const ok = vigie(['doctor'], { DATABASE_URL: db.url });
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('✓ migrations Vigie');
      expect(ok.out).toContain('✓ déclencheurs de capture : 9 tables surveillées');
      expect(ok.out).toContain('✓ synchronisation V1 de ML_PP : non planifiée');
      expect(ok.out).toContain('⚠ Slack : SLACK_BOT_TOKEN absent');
      const pooler = vigie(['doctor'], { DATABASE_URL: db.url, LISTEN_DATABASE_URL: 'postgres://u:p@db.example.supabase.co:6543/postgres' });
      expect(pooler.code).toBe(1);
      expect(pooler.out).toContain('✗ connexion LISTEN : port 6543');
      expect(pooler.out).not.toContain(':p@');
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('alter table public.receptions disable trigger zz_vigie_capture_ins');
      await c.end();
      const disabled = vigie(['doctor'], { DATABASE_URL: db.url });
      expect(disabled.code).toBe(1);
      expect(disabled.out).toContain('✗ déclencheurs de capture : désactivés sur public.receptions');
    } finally {
      await db.drop();
    }
  });

  it('lint migrations: Vigie’s own migrations pass', () => {
    const r = vigie(['lint', 'migrations', `${repoRoot}infra/vigie/migrations`]);
    expect(r.code).toBe(0);
  });
});
