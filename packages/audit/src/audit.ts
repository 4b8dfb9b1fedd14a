/**
 * `auditRls`: static checks on the catalogs, plus (optionally) the dynamic
 * probe, folded into one report.
 */
import type { ClientBase } from 'pg';
import { makeFinding, sortFindings } from './catalog.js';
import { checkFunctions, checkPolicies, checkRoles, checkSchemas, checkTables, checkViews, countPublicPolicies } from './checks.js';
import { readCatalog } from './inspect.js';
import { runProbe } from './probe.js';
import type { AuditOptions, AuditReport, Finding, ProbeResult, ProbeRow } from './types.js';

/**
 * Audits row level security and API exposure of the database `client` is
 * connected to. The client must be idle (not inside a transaction) when
 * `probe` is true, and its role must be able to `SET ROLE anon` and
 * `SET ROLE authenticated` (Supabase's `postgres` can). Nothing is committed.
 */
export async function auditRls(client: ClientBase, opts: AuditOptions = {}): Promise<AuditReport> {
  const schemas = opts.schemas && opts.schemas.length > 0 ? [...opts.schemas] : ['public'];
  const now = opts.now ?? new Date();
  const snap = await readCatalog(client);

  const findings: Finding[] = [
    ...checkRoles(snap),
    ...(await checkPolicies(snap)),
    ...checkTables(snap, schemas),
    ...checkViews(snap, schemas),
    ...(await checkFunctions(snap, schemas)),
    ...checkSchemas(snap, schemas),
  ];

  let probe: ProbeRow[] = [];
  const probeNotes: string[] = [];
  if (opts.probe === true) {
    const run = await runProbe(client, snap, {
      exposedSchemas: schemas,
      statementTimeoutMs: opts.probeStatementTimeoutMs ?? 5000,
      lockTimeoutMs: opts.probeLockTimeoutMs ?? 1000,
    });
    probe = run.rows;
    probeNotes.push(...run.notes);
    findings.push(...probeFindings(probe));
  } else {
    probeNotes.push('Sonde dynamique non demandée.');
  }

  const sorted = sortFindings(findings);
  const exposed = snap.relations.filter((r) => schemas.includes(r.schema)).length;
  return {
    format: 'vigie.audit.rls/1',
    generated_at: now.toISOString(),
    database: opts.database ?? snap.database,
    release: opts.release ?? null,
    server_version: snap.server_version,
    schemas,
    roles: { ...snap.roles },
    summary: {
      error: sorted.filter((f) => f.severity === 'ERROR').length,
      warn: sorted.filter((f) => f.severity === 'WARN').length,
      info: sorted.filter((f) => f.severity === 'INFO').length,
      public_policies: countPublicPolicies(snap),
      exposed_relations: exposed,
      probe: opts.probe === true ? 'done' : 'skipped',
    },
    findings: sorted,
    probe,
    probe_notes: probeNotes,
  };
}

/** Did grants and RLS let the statement through (even if a constraint or trigger then stopped the test row)? */
export function passedRls(r: ProbeResult): boolean {
  if (r.outcome === 'allowed' || r.outcome === 'denied_constraint') return true;
  return r.outcome === 'denied_trigger' && (r.rls_without_triggers === 'allowed' || r.rls_without_triggers === 'denied_constraint');
}

const WRITE_CMDS = ['insert', 'update', 'delete'] as const;

function probeFindings(rows: ProbeRow[]): Finding[] {
  const out: Finding[] = [];
  for (const row of rows) {
    const anon = row.role === 'anon';
    const who = anon ? 'Appel anonyme (rôle anon, clé publique du bundle web)' : 'Utilisateur authentifié sans profil';
    const whoEn = anon ? 'Anonymous call (role anon, the web bundle’s public key)' : 'Authenticated user without a profile';
    const total = row.total_rows === null ? '?' : String(row.total_rows);
    if (row.select.outcome === 'allowed') {
      const ref = row.table;
      let fix: string;
      let fixEn: string;
      if (!anon) {
        fix = `Conditionner les politiques SELECT de ${ref} à un profil : exists (select 1 from public.profils p where p.user_id = auth.uid()).`;
        fixEn = `Make ${ref}'s SELECT policies require a profile: exists (select 1 from public.profils p where p.user_id = auth.uid()).`;
      } else if (row.kind === 'table') {
        fix = `Supprimer les politiques {public}/anon de ${ref} ou les passer TO authenticated ; défense en profondeur : REVOKE SELECT ON ${ref} FROM anon;`;
        fixEn = `Drop the {public}/anon policies of ${ref} or move them TO authenticated; defense in depth: REVOKE SELECT ON ${ref} FROM anon;`;
      } else if (row.kind === 'view') {
        fix = `ALTER VIEW ${ref} SET (security_invoker = true); REVOKE SELECT ON ${ref} FROM anon;`;
        fixEn = fix;
      } else {
        fix = `REVOKE SELECT ON ${ref} FROM anon; (la RLS ne s’applique pas à cet objet)`;
        fixEn = `REVOKE SELECT ON ${ref} FROM anon; (RLS does not apply to this object)`;
      }
      out.push(
        makeFinding(anon ? 'PROBE_ANON_READ' : 'PROBE_NOPROFILE_READ', row.table, {
          detail: `${who} : SELECT sur ${row.table} a renvoyé ${row.select.rows ?? 0} ligne(s) sur ${total}.`,
          detail_en: `${whoEn}: SELECT on ${row.table} returned ${row.select.rows ?? 0} row(s) out of ${total}.`,
          fix,
          fix_en: fixEn,
          meta: { role: row.role, select: row.select, total_rows: row.total_rows },
        }),
      );
    }
    const succeeded = WRITE_CMDS.filter((c) => row[c].outcome === 'allowed');
    const passed = WRITE_CMDS.filter((c) => row[c].outcome !== 'allowed' && passedRls(row[c]));
    if (succeeded.length === 0 && passed.length === 0) continue;
    const cmds = (list: readonly string[]) => list.map((c) => c.toUpperCase()).join(', ');
    const parts: string[] = [];
    const partsEn: string[] = [];
    if (succeeded.length > 0) {
      parts.push(`${cmds(succeeded)} réussi(s) (${succeeded.map((c) => `${c.toUpperCase()} : ${row[c].rows ?? 0} ligne(s)`).join(', ')})`);
      partsEn.push(`${cmds(succeeded)} succeeded (${succeeded.map((c) => `${c.toUpperCase()}: ${row[c].rows ?? 0} row(s)`).join(', ')})`);
    }
    if (passed.length > 0) {
      parts.push(`${cmds(passed)} admis par les droits et la RLS, arrêté(s) seulement par une contrainte ou un trigger sur la ligne de test`);
      partsEn.push(`${cmds(passed)} let through by grants and RLS, stopped only by a constraint or trigger on the test row`);
    }
    const severity = succeeded.length > 0 ? (anon ? 'ERROR' : 'WARN') : anon ? 'WARN' : 'INFO';
    out.push(
      makeFinding(anon ? 'PROBE_ANON_WRITE' : 'PROBE_NOPROFILE_WRITE', row.table, {
        severity,
        detail: `${who}, sur ${row.table} : ${parts.join(' ; ')}. Transaction annulée : rien n’a été écrit.`,
        detail_en: `${whoEn}, on ${row.table}: ${partsEn.join('; ')}. Transaction rolled back: nothing was written.`,
        fix: anon
          ? `Aucune écriture anonyme : supprimer les politiques d’écriture {public}/anon de ${row.table} et REVOKE INSERT, UPDATE, DELETE ON ${row.table} FROM anon;`
          : `Restreindre les politiques d’écriture de ${row.table} aux rôles métier (profils.user_id = auth.uid() et profils.role autorisé).`,
        fix_en: anon
          ? `No anonymous writes: drop the {public}/anon write policies of ${row.table} and REVOKE INSERT, UPDATE, DELETE ON ${row.table} FROM anon;`
          : `Restrict ${row.table}'s write policies to business roles (profils.user_id = auth.uid() and an allowed profils.role).`,
        meta: { role: row.role, insert: row.insert, update: row.update, delete: row.delete },
      }),
    );
  }
  return out;
}
