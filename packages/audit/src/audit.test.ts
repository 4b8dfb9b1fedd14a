import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFixture, createScratchDb, type ScratchDb } from './__fixtures__/db.js';
import { checkRoles } from './checks.js';
import type { CatalogSnapshot } from './inspect.js';
import {
  AuditError,
  type AuditReport,
  auditExitCode,
  auditRls,
  FINDING_CODES,
  type ProbeRow,
  renderAuditJson,
  renderAuditMarkdown,
} from './index.js';

const NOW = new Date('2026-04-20T08:30:00Z');

let dirty: ScratchDb;
let clean: ScratchDb;
let dirtyReport: AuditReport;
let cleanReport: AuditReport;

beforeAll(async () => {
  [dirty, clean] = await Promise.all([createScratchDb('dirty'), createScratchDb('clean')]);
  await applyFixture(dirty.client, 'supabase_base.sql');
  await applyFixture(dirty.client, 'dirty.sql');
  await applyFixture(clean.client, 'supabase_base.sql');
  await applyFixture(clean.client, 'clean.sql');
  dirtyReport = await auditRls(dirty.client, { probe: true, release: 'v1.2.3', now: NOW, database: 'fixture-dirty' });
  cleanReport = await auditRls(clean.client, { probe: true, release: 'v1.2.3', now: NOW });
});

afterAll(async () => {
  await Promise.all([dirty?.drop(), clean?.drop()]);
});

/** Where each finding code must fire on the dirty fixture (object → severity). */
const EXPECTED: Record<string, Record<string, string>> = {
  RLS_POLICY_PUBLIC_ROLE: {
    'public.citernes."read citernes"': 'ERROR',
    'public.stocks_journaliers."read stocks_journaliers"': 'ERROR',
    'public.public_inbox.inbox_insert': 'ERROR',
    'public.guarded_insert.gi_insert': 'ERROR',
    'public.frozen.frozen_all': 'ERROR',
    'public.latent_public.latent_read': 'ERROR',
  },
  RLS_POLICY_ANON_ROLE: { 'public.anon_notes.anon_notes_read': 'WARN', 'public.docs.docs_read_anon': 'WARN' },
  RLS_POLICY_ALWAYS_TRUE_ANON: {
    'public.citernes."read citernes"': 'ERROR',
    'public.stocks_journaliers."read stocks_journaliers"': 'ERROR',
    'public.public_inbox.inbox_insert': 'ERROR',
    'public.guarded_insert.gi_insert': 'ERROR',
    'public.frozen.frozen_all': 'ERROR',
    'public.latent_public.latent_read': 'WARN', // anon holds no SELECT: latent
  },
  RLS_POLICY_ALWAYS_TRUE_WRITE: { 'public.journal.journal_insert': 'WARN' },
  RLS_POLICY_NULL_AUTH_DISJUNCT: { 'public.docs.docs_read': 'WARN', 'public.docs.docs_read_anon': 'ERROR' },
  RLS_POLICY_USER_METADATA: { 'public.settings.settings_admin': 'ERROR' },
  RLS_POLICY_PROFILS_ID_UID: { 'public.system_alerts.system_alerts_update_admin_directeur': 'WARN' },
  FUNCTION_PROFILS_ID_UID: { 'public.is_admin_buggy()': 'WARN' },
  RLS_DISABLED_EXPOSED: { 'public.no_rls_table': 'ERROR', 'public.policies_no_rls': 'ERROR', 'public.hidden_no_rls': 'WARN' },
  RLS_POLICY_ON_DISABLED_TABLE: { 'public.policies_no_rls': 'ERROR' },
  RLS_ENABLED_NO_POLICY: { 'public.locked': 'INFO' },
  VIEW_SECURITY_DEFINER: { 'public.v_citernes_definer': 'ERROR', 'public.v_docs_definer': 'WARN' },
  VIEW_EXPOSES_AUTH_USERS: { 'public.v_users': 'ERROR' },
  MATVIEW_EXPOSED: { 'public.mv_stock': 'WARN' },
  FOREIGN_TABLE_EXPOSED: { 'public.ft_lines': 'WARN' },
  FUNCTION_SECDEF_SEARCH_PATH: { 'public.secdef_nopath()': 'WARN' },
  FUNCTION_SEARCH_PATH_WRITABLE: { 'public.uses_playground()': 'WARN' },
  FUNCTION_SEARCH_PATH_MUTABLE: { 'public.plain_nopath()': 'INFO' },
  FUNCTION_SECDEF_ANON_EXECUTE: { 'public.secdef_nopath()': 'WARN' },
  FUNCTION_SECDEF_AUTHENTICATED_EXECUTE: { 'public.secdef_auth_only()': 'INFO', 'public.uses_playground()': 'INFO' },
  SCHEMA_CREATE_GRANTED: { 'schema playground': 'ERROR' },
  ANON_SCHEMA_USAGE: { 'schema astm': 'WARN' },
  ANON_TABLE_GRANTS: { 'schema public': 'INFO' },
  PROBE_ANON_READ: {
    'public.citernes': 'ERROR',
    'public.stocks_journaliers': 'ERROR',
    'public.no_rls_table': 'ERROR',
    'public.frozen': 'ERROR',
    'public.v_citernes_definer': 'ERROR',
    'public.mv_stock': 'ERROR',
  },
  PROBE_ANON_WRITE: {
    'public.public_inbox': 'ERROR',
    'public.no_rls_table': 'ERROR',
    'public.policies_no_rls': 'ERROR',
    'public.frozen': 'ERROR',
    'public.guarded_insert': 'WARN',
  },
  PROBE_NOPROFILE_READ: {
    'public.citernes': 'WARN',
    'public.stocks_journaliers': 'WARN',
    'public.journal': 'WARN',
    'public.no_rls_table': 'WARN',
    'public.frozen': 'WARN',
    'public.v_citernes_definer': 'WARN',
    'public.mv_stock': 'WARN',
    'public.latent_public': 'WARN',
  },
  PROBE_NOPROFILE_WRITE: {
    'public.journal': 'WARN',
    'public.public_inbox': 'WARN',
    'public.no_rls_table': 'WARN',
    'public.policies_no_rls': 'WARN',
    'public.frozen': 'WARN',
    'public.guarded_insert': 'INFO',
  },
};

function findingsOf(report: AuditReport, code: string): Record<string, string> {
  return Object.fromEntries(report.findings.filter((f) => f.code === code).map((f) => [f.object, f.severity]));
}

function probe(report: AuditReport, role: ProbeRow['role'], table: string): ProbeRow {
  const row = report.probe.find((r) => r.role === role && r.table === table);
  if (!row) throw new Error(`no probe row for ${role} ${table}`);
  return row;
}

describe('auditRls: static findings', () => {
  it('covers every finding code on the dirty fixture (API_ROLE_MISSING aside)', () => {
    const codes = Object.keys(FINDING_CODES).filter((c) => c !== 'API_ROLE_MISSING');
    expect(Object.keys(EXPECTED).sort()).toEqual(codes.sort());
  });

  for (const [code, expected] of Object.entries(EXPECTED)) {
    it(`${code} fires exactly where expected, with its severity, and never on the clean fixture`, () => {
      expect(findingsOf(dirtyReport, code)).toEqual(expected);
      expect(findingsOf(cleanReport, code)).toEqual({});
    });
  }

  it('finds nothing at all on the clean fixture, and exits 0', () => {
    expect(cleanReport.findings).toEqual([]);
    expect(cleanReport.summary).toMatchObject({ error: 0, warn: 0, info: 0, public_policies: 0, probe: 'done' });
    expect(auditExitCode(cleanReport)).toBe(0);
  });

  it('counts {public} policies and exits 1 when ERROR findings exist', () => {
    expect(dirtyReport.summary.public_policies).toBe(6);
    expect(dirtyReport.summary.error).toBeGreaterThan(0);
    expect(auditExitCode(dirtyReport)).toBe(1);
  });

  it('gives every finding French and English texts and a French fix', () => {
    for (const f of dirtyReport.findings) {
      expect(f.title_fr.length).toBeGreaterThan(10);
      expect(f.title_en.length).toBeGreaterThan(10);
      expect(f.detail.length).toBeGreaterThan(20);
      expect(f.fix.length).toBeGreaterThan(10);
    }
    const publicPolicy = dirtyReport.findings.find((f) => f.code === 'RLS_POLICY_PUBLIC_ROLE' && f.object.includes('read citernes'));
    expect(publicPolicy?.fix).toContain('ALTER POLICY "read citernes" ON public.citernes TO authenticated;');
  });

  it('reports a missing Supabase role (API_ROLE_MISSING)', () => {
    const snap: CatalogSnapshot = {
      database: 'x',
      server_version: '15',
      roles: { anon: false, authenticated: true },
      relations: [],
      policies: [],
      functions: [],
      view_dependencies: [],
      schemas: [],
    };
    expect(checkRoles(snap).map((f) => [f.code, f.object, f.severity])).toEqual([['API_ROLE_MISSING', 'role anon', 'INFO']]);
  });
});

describe('auditRls: dynamic probe', () => {
  it('shows anon really reading the leaked tables', () => {
    expect(probe(dirtyReport, 'anon', 'public.citernes').select).toEqual({ outcome: 'allowed', rows: 4 });
    expect(probe(dirtyReport, 'anon', 'public.stocks_journaliers').select).toEqual({ outcome: 'allowed', rows: 4 });
    expect(probe(dirtyReport, 'anon', 'public.v_citernes_definer').select).toEqual({ outcome: 'allowed', rows: 4 });
  });

  it('tells grants, RLS, constraints and triggers apart', () => {
    const hidden = probe(dirtyReport, 'anon', 'public.hidden_no_rls');
    expect(hidden.select).toMatchObject({ outcome: 'denied_privilege', sqlstate: '42501' });
    expect(hidden.delete).toMatchObject({ outcome: 'denied_privilege', sqlstate: '42501' });

    const journalAnon = probe(dirtyReport, 'anon', 'public.journal');
    expect(journalAnon.total_rows).toBe(2);
    expect(journalAnon.select).toEqual({ outcome: 'denied_rls', rows: 0 });
    expect(journalAnon.insert).toMatchObject({ outcome: 'denied_rls', sqlstate: '42501' });

    const journal = probe(dirtyReport, 'authenticated_sans_profil', 'public.journal');
    expect(journal.select).toEqual({ outcome: 'allowed', rows: 2 });
    expect(journal.insert).toEqual({ outcome: 'allowed', rows: 1 });
    expect(journal.update).toEqual({ outcome: 'denied_rls', rows: 0 });

    expect(probe(dirtyReport, 'anon', 'public.public_inbox').insert).toEqual({ outcome: 'allowed', rows: 1 });
    expect(probe(dirtyReport, 'anon', 'public.guarded_insert').insert).toMatchObject({ outcome: 'denied_constraint', sqlstate: '23514' });

    const frozen = probe(dirtyReport, 'anon', 'public.frozen');
    expect(frozen.update).toMatchObject({ outcome: 'denied_trigger', sqlstate: 'P0001', rls_without_triggers: 'allowed' });
    expect(frozen.update.message).toContain('FROZEN_IMMUTABLE');
    expect(frozen.delete).toMatchObject({ outcome: 'denied_trigger', rls_without_triggers: 'allowed' });

    expect(probe(dirtyReport, 'anon', 'public.anon_notes').select).toEqual({ outcome: 'inconclusive', rows: 0 });
    const view = probe(dirtyReport, 'anon', 'public.v_citernes_definer');
    expect(view.kind).toBe('view');
    expect(view.insert).toEqual({ outcome: 'not_applicable' });
  });

  it('probes every exposed relation for both callers', () => {
    const relations = new Set(dirtyReport.probe.map((r) => r.table));
    expect(relations.has('public.citernes')).toBe(true);
    expect(relations.has('astm.grid')).toBe(false);
    expect(dirtyReport.probe.filter((r) => r.role === 'anon')).toHaveLength(relations.size);
    expect(dirtyReport.probe.filter((r) => r.role === 'authenticated_sans_profil')).toHaveLength(relations.size);
  });

  it('leaves the data untouched (everything rolled back)', async () => {
    const before = await dirty.client.query<{ n: string }>(
      `select (select count(*) from public.citernes) + (select count(*) from public.no_rls_table) * 100
            + (select count(*) from public.frozen) * 10000 + (select count(*) from public.public_inbox) * 1000000 as n`,
    );
    await auditRls(dirty.client, { probe: true });
    const after = await dirty.client.query<{ n: string }>(
      `select (select count(*) from public.citernes) + (select count(*) from public.no_rls_table) * 100
            + (select count(*) from public.frozen) * 10000 + (select count(*) from public.public_inbox) * 1000000 as n`,
    );
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    expect(before.rows[0]?.n).toBe(String(4 + 2 * 100 + 2 * 10000));
    const who = await dirty.client.query<{ u: string }>('select current_user as u');
    expect(who.rows[0]?.u).toBe('postgres');
  });

  it('refuses to probe on a client already inside a transaction', async () => {
    await dirty.client.query('BEGIN');
    try {
      await expect(auditRls(dirty.client, { probe: true })).rejects.toMatchObject({ code: 'AUDIT_CLIENT_IN_TRANSACTION' });
      await expect(auditRls(dirty.client, { probe: true })).rejects.toBeInstanceOf(AuditError);
    } finally {
      await dirty.client.query('ROLLBACK');
    }
  });

  it('skips the probe unless asked', async () => {
    const r = await auditRls(clean.client, { now: NOW });
    expect(r.probe).toEqual([]);
    expect(r.summary.probe).toBe('skipped');
  });
});

describe('renderers', () => {
  it('writes the French audit document: date, database, release, findings, the probe matrix', () => {
    const md = renderAuditMarkdown(dirtyReport);
    expect(md).toContain('# Audit RLS — fixture-dirty');
    expect(md).toContain('| Date | 20 avril 2026 à 08:30 UTC (2026-04-20T08:30:00.000Z) |');
    expect(md).toContain('| Release | v1.2.3 |');
    expect(md).toContain('| Standard « 0 politique public » | ❌ 6 politique(s) {public} |');
    expect(md).toContain('**Verdict : NON CONFORME**');
    expect(md).toContain('| ERROR | `RLS_POLICY_PUBLIC_ROLE` | `public.citernes."read citernes"` | Politique RLS attribuée au rôle {public} |');
    expect(md).toContain('### anon (clé publique, sans connexion)');
    expect(md).toContain('| `public.citernes` | 4 | ❌ **AUTORISÉ (4)** | refusé (RLS) `42501` | refusé (RLS) | refusé (RLS) |');
    expect(md).toContain('refusé par trigger `P0001` (sans triggers : AUTORISÉ)');
    expect(md).toContain('*Correctif :*');
  });

  it('writes the clean verdict and an English variant', () => {
    expect(renderAuditMarkdown(cleanReport)).toContain('**Verdict : CONFORME** — aucun constat ERROR.');
    const en = renderAuditMarkdown(dirtyReport, 'en');
    expect(en).toContain('# RLS audit — fixture-dirty');
    expect(en).toContain('Always-true policy reachable by anon');
    expect(en).toContain('❌ **ALLOWED (4)**');
  });

  it('writes JSON for machines', () => {
    const parsed = JSON.parse(renderAuditJson(dirtyReport)) as AuditReport;
    expect(parsed).toEqual(dirtyReport);
    expect(parsed.format).toBe('vigie.audit.rls/1');
    expect(parsed.generated_at).toBe('2026-04-20T08:30:00.000Z');
  });
});
