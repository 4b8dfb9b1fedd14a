/**
 * The audit against the ML_PP reference database (infra/mlpp): hardened, it
 * passes with zero ERROR; with the pre-hardening policies put back, every
 * policy DOMAIN §5 lists is flagged and the probe shows anon reading
 * citernes and stocks_journaliers.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFixture, applySql, createScratchDb, FIXTURES, type ScratchDb } from './__fixtures__/db.js';
import { type AuditReport, auditExitCode, auditRls, lintMigrations, readMigrationFiles, renderAuditMarkdown } from './index.js';

const MLPP = join(FIXTURES, '..', '..', '..', '..', 'infra', 'mlpp');
const MIGRATIONS = join(MLPP, 'migrations');
const PRE_HARDENING = join(MLPP, 'fixtures', 'pre_hardening_policies.sql');
const available = existsSync(MIGRATIONS) && existsSync(PRE_HARDENING);

/** DOMAIN §5: the policies the 2026-02-21 hardening dropped or moved from public to authenticated. */
const PRE_HARDENING_POLICIES = [
  'public.stocks_journaliers."read stocks_journaliers"',
  'public.citernes."read citernes"',
  // "the profils own-profile policies" (named as in the reference database)
  'public.profils."Read own profile"',
  'public.profils."Insert own profile"',
  'public.profils."Update own profile"',
  'public.cours_de_route.cours_de_route_select',
  'public.cours_de_route.cours_de_route_insert',
  'public.prises_de_hauteur.prises_de_hauteur_select',
  'public.prises_de_hauteur.prises_de_hauteur_insert',
  'public.sorties_produit.sorties_produit_select',
  'public.sorties_produit.sp_read',
  'public.sorties_produit.sorties_produit_insert',
  'public.sorties_produit.sp_update_draft',
  'public.sorties_produit.sp_insert_draft',
  'public.sorties_produit.sp_delete',
];

describe.skipIf(!available)('ML_PP reference database (infra/mlpp)', () => {
  let db: ScratchDb;
  let hardened: AuditReport;
  let pre: AuditReport;

  beforeAll(async () => {
    db = await createScratchDb('mlpp');
    const files = (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql')).sort();
    for (const f of files) await applySql(db.client, await readFile(join(MIGRATIONS, f), 'utf8'));
    await applyFixture(db.client, 'mlpp_seed.sql');
    hardened = await auditRls(db.client, { probe: true, release: 'reference', database: 'mlpp-reference' });
    await applySql(db.client, await readFile(PRE_HARDENING, 'utf8'));
    pre = await auditRls(db.client, { probe: true, release: 'reference', database: 'mlpp-pre-hardening' });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('hardened: zero ERROR and zero {public} policy', () => {
    const errors = hardened.findings.filter((f) => f.severity === 'ERROR').map((f) => `${f.code} ${f.object}: ${f.detail}`);
    expect(errors).toEqual([]);
    expect(hardened.summary.public_policies).toBe(0);
    expect(auditExitCode(hardened)).toBe(0);
  });

  it('hardened: anon reads nothing, the probe found the seeded rows to test against', () => {
    for (const table of ['public.citernes', 'public.stocks_journaliers']) {
      const row = hardened.probe.find((r) => r.role === 'anon' && r.table === table);
      expect(row?.total_rows).toBe(2);
      expect(row?.select.outcome).not.toBe('allowed');
    }
    expect(hardened.probe.filter((r) => r.role === 'anon' && r.select.outcome === 'allowed')).toEqual([]);
  });

  it('pre-hardening: every policy of DOMAIN §5 is flagged as a {public} policy (ERROR)', () => {
    const flagged = pre.findings.filter((f) => f.code === 'RLS_POLICY_PUBLIC_ROLE' && f.severity === 'ERROR').map((f) => f.object);
    expect(flagged.sort()).toEqual([...PRE_HARDENING_POLICIES].sort());
    expect(pre.summary.public_policies).toBe(PRE_HARDENING_POLICIES.length);
  });

  it('pre-hardening: the two USING (true) leaks are flagged as reachable by anon', () => {
    const alwaysTrue = pre.findings.filter((f) => f.code === 'RLS_POLICY_ALWAYS_TRUE_ANON').map((f) => f.object);
    expect(alwaysTrue.sort()).toEqual(['public.citernes."read citernes"', 'public.stocks_journaliers."read stocks_journaliers"']);
  });

  it('pre-hardening: the probe shows anon really reading citernes and stocks_journaliers', () => {
    for (const table of ['public.citernes', 'public.stocks_journaliers']) {
      const row = pre.probe.find((r) => r.role === 'anon' && r.table === table);
      expect(row?.select).toEqual({ outcome: 'allowed', rows: 2 });
      expect(pre.findings.some((f) => f.code === 'PROBE_ANON_READ' && f.object === table && f.severity === 'ERROR')).toBe(true);
    }
    expect(auditExitCode(pre)).toBe(1);
    const md = renderAuditMarkdown(pre);
    expect(md).toContain('| `public.citernes` | 2 | ❌ **AUTORISÉ (2)** |');
    expect(md).toContain('| `public.stocks_journaliers` | 2 | ❌ **AUTORISÉ (2)** |');
  });

  it('the reference migrations pass the migration lint; the pre-hardening fixture does not', async () => {
    const migrations = await lintMigrations(await readMigrationFiles([MIGRATIONS]));
    expect(migrations.issues.filter((i) => i.severity === 'ERROR')).toEqual([]);
    const fixture = await lintMigrations(await readMigrationFiles([PRE_HARDENING]));
    const publicPolicies = fixture.issues.filter((i) => i.rule === 'POLICY_TO_PUBLIC');
    expect(publicPolicies).toHaveLength(PRE_HARDENING_POLICIES.length);
    expect(fixture.issues.some((i) => i.rule === 'GRANT_TO_ANON' && i.severity === 'ERROR')).toBe(true);
  });
});
