/**
 * Renderers for the audit report: Markdown (the audit document, French by
 * default), JSON (for machines) and the process exit code.
 */
import type { AuditReport, Finding, Lang, ProbeResult, ProbeRole, Severity } from './types.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function formatDate(iso: string, lang: Lang): string {
  const d = new Date(iso);
  const human = new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(d);
  return `${human} UTC (${iso})`;
}

const L = {
  fr: {
    title: 'Audit RLS',
    date: 'Date',
    database: 'Base',
    release: 'Release',
    server: 'PostgreSQL',
    schemas: 'Schémas exposés',
    standard: 'Standard « 0 politique public »',
    standardOk: '✅ respecté (0 politique {public})',
    standardKo: (n: number) => `❌ ${n} politique(s) {public}`,
    findings: 'Constats',
    probe: 'Sonde dynamique',
    probeDone: 'réalisée (transactions annulées)',
    probeSkipped: 'non réalisée',
    verdictOk: '**Verdict : CONFORME** — aucun constat ERROR.',
    verdictKo: (n: number) => `**Verdict : NON CONFORME** — ${n} constat(s) ERROR.`,
    none: 'Aucun constat.',
    fix: 'Correctif',
    summaryTable: '| Sévérité | Code | Objet | Constat |',
    probeIntro:
      'La sonde se connecte comme PostgREST (SET ROLE + request.jwt.claims) et tente SELECT, INSERT, UPDATE et DELETE sur chaque relation exposée, chaque tentative dans un point de sauvegarde annulé, le tout dans une transaction toujours annulée (ROLLBACK). Seules les valeurs de séquence consommées par les INSERT survivent.',
    roles: { anon: 'anon (clé publique, sans connexion)', authenticated_sans_profil: 'authenticated sans profil (JWT valide, aucune ligne profils)' } as Record<ProbeRole, string>,
    table: 'Relation',
    rows: 'Lignes',
    legend:
      'Légende : **AUTORISÉ (n)** = l’instruction a atteint n ligne(s) ; refusé (droits) = pas de GRANT ; refusé (RLS) = bloqué ou filtré par la RLS ; refusé par contrainte = droits et RLS ont laissé passer, une contrainte a refusé la ligne de test ; refusé par trigger = un trigger a levé une erreur (entre parenthèses : résultat rejoué sans triggers) ; non concluant = table vide ; — = sans objet.',
    notes: 'Notes',
    noProbe: 'Sonde non réalisée.',
    method: 'Méthode',
    methodText:
      'Contrôles statiques sur les catalogues (pg_policy, pg_class, pg_proc, privilèges effectifs via has_*_privilege) ; expressions des politiques analysées avec l’analyseur SQL de PostgreSQL (libpg-query). Couvre les contrôles RLS et d’exposition de splinter (Supabase) et les motifs propres à ML_PP.',
  },
  en: {
    title: 'RLS audit',
    date: 'Date',
    database: 'Database',
    release: 'Release',
    server: 'PostgreSQL',
    schemas: 'Exposed schemas',
    standard: '"0 public policy" standard',
    standardOk: '✅ met (0 {public} policy)',
    standardKo: (n: number) => `❌ ${n} {public} polic(ies)`,
    findings: 'Findings',
    probe: 'Dynamic probe',
    probeDone: 'done (transactions rolled back)',
    probeSkipped: 'not run',
    verdictOk: '**Verdict: PASS** — no ERROR finding.',
    verdictKo: (n: number) => `**Verdict: FAIL** — ${n} ERROR finding(s).`,
    none: 'No finding.',
    fix: 'Fix',
    summaryTable: '| Severity | Code | Object | Finding |',
    probeIntro:
      'The probe connects as PostgREST does (SET ROLE + request.jwt.claims) and tries SELECT, INSERT, UPDATE and DELETE on every exposed relation, each attempt inside a rolled-back savepoint, all inside a transaction that is always rolled back. Only sequence values consumed by INSERTs survive.',
    roles: { anon: 'anon (public key, not signed in)', authenticated_sans_profil: 'authenticated without a profile (valid JWT, no profils row)' } as Record<ProbeRole, string>,
    table: 'Relation',
    rows: 'Rows',
    legend:
      'Legend: **ALLOWED (n)** = the statement reached n row(s); denied (grants) = no GRANT; denied (RLS) = blocked or filtered by RLS; denied by constraint = grants and RLS let it through, a constraint refused the test row; denied by trigger = a trigger raised (in brackets: replayed without triggers); inconclusive = empty table; — = not applicable.',
    notes: 'Notes',
    noProbe: 'Probe not run.',
    method: 'Method',
    methodText:
      'Static checks on the catalogs (pg_policy, pg_class, pg_proc, effective privileges through has_*_privilege); policy expressions analysed with PostgreSQL’s own parser (libpg-query). Covers splinter’s (Supabase) RLS and exposure lints plus ML_PP-specific patterns.',
  },
} as const;

function outcomeText(r: ProbeResult, lang: Lang): string {
  const fr = lang === 'fr';
  const base = (o: ProbeResult['outcome']): string => {
    switch (o) {
      case 'allowed':
        return fr ? 'AUTORISÉ' : 'ALLOWED';
      case 'denied_privilege':
        return fr ? 'refusé (droits)' : 'denied (grants)';
      case 'denied_rls':
        return fr ? 'refusé (RLS)' : 'denied (RLS)';
      case 'denied_constraint':
        return fr ? 'refusé par contrainte' : 'denied by constraint';
      case 'denied_trigger':
        return fr ? 'refusé par trigger' : 'denied by trigger';
      case 'inconclusive':
        return fr ? 'non concluant' : 'inconclusive';
      case 'not_applicable':
        return '—';
      case 'error':
        return fr ? 'erreur' : 'error';
    }
  };
  let s = base(r.outcome);
  if (r.outcome === 'allowed') s = `❌ **${s} (${r.rows ?? 0})**`;
  else if (r.outcome === 'denied_constraint') s = `⚠️ ${s}`;
  if (r.sqlstate && r.outcome !== 'allowed') s += ` \`${r.sqlstate}\``;
  if (r.rls_without_triggers) s += ` (${fr ? 'sans triggers' : 'without triggers'} : ${base(r.rls_without_triggers)})`;
  return s;
}

const SEVERITIES: Severity[] = ['ERROR', 'WARN', 'INFO'];

function findingTitle(f: Finding, lang: Lang): string {
  return lang === 'fr' ? f.title_fr : f.title_en;
}

/** The audit document, in French by default. */
export function renderAuditMarkdown(report: AuditReport, lang: Lang = 'fr'): string {
  const t = L[lang];
  const s = report.summary;
  const out: string[] = [];
  out.push(`# ${t.title} — ${report.database}`, '');
  out.push('| | |', '|---|---|');
  out.push(`| ${t.date} | ${formatDate(report.generated_at, lang)} |`);
  out.push(`| ${t.database} | ${cell(report.database)} |`);
  out.push(`| ${t.release} | ${cell(report.release ?? '—')} |`);
  out.push(`| ${t.server} | ${cell(report.server_version)} |`);
  out.push(`| ${t.schemas} | ${cell(report.schemas.join(', '))} |`);
  out.push(`| ${t.standard} | ${s.public_policies === 0 ? t.standardOk : t.standardKo(s.public_policies)} |`);
  out.push(`| ${t.findings} | ${s.error} ERROR · ${s.warn} WARN · ${s.info} INFO |`);
  out.push(`| ${t.probe} | ${s.probe === 'done' ? t.probeDone : t.probeSkipped} |`);
  out.push('', s.error === 0 ? t.verdictOk : t.verdictKo(s.error), '');

  out.push(`## ${t.findings}`, '');
  if (report.findings.length === 0) out.push(t.none, '');
  else {
    out.push(t.summaryTable, '|---|---|---|---|');
    for (const f of report.findings) {
      out.push(`| ${f.severity} | \`${f.code}\` | \`${cell(f.object)}\` | ${cell(findingTitle(f, lang))} |`);
    }
    out.push('');
    let n = 0;
    for (const sev of SEVERITIES) {
      const list = report.findings.filter((f) => f.severity === sev);
      if (list.length === 0) continue;
      out.push(`### ${sev} (${list.length})`, '');
      for (const f of list) {
        n++;
        out.push(`#### ${n}. \`${f.code}\` — \`${f.object}\``, '');
        out.push(`**${findingTitle(f, lang)}.** ${lang === 'fr' ? f.detail : f.detail_en}`, '');
        out.push(`*${t.fix} :* ${lang === 'fr' ? f.fix : f.fix_en}`, '');
      }
    }
  }

  out.push(`## ${t.probe}`, '');
  if (s.probe !== 'done') out.push(t.noProbe, '');
  else {
    out.push(t.probeIntro, '');
    const roles = [...new Set(report.probe.map((r) => r.role))];
    for (const role of roles) {
      out.push(`### ${t.roles[role]}`, '');
      out.push(`| ${t.table} | ${t.rows} | SELECT | INSERT | UPDATE | DELETE |`, '|---|---:|---|---|---|---|');
      for (const r of report.probe.filter((p) => p.role === role)) {
        out.push(
          `| \`${r.table}\`${r.kind === 'table' ? '' : ` (${r.kind})`} | ${r.total_rows ?? '?'} | ${outcomeText(r.select, lang)} | ${outcomeText(r.insert, lang)} | ${outcomeText(r.update, lang)} | ${outcomeText(r.delete, lang)} |`,
        );
      }
      out.push('');
    }
    out.push(t.legend, '');
  }
  if (report.probe_notes.length > 0) {
    out.push(`### ${t.notes}`, '');
    for (const note of report.probe_notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push(`## ${t.method}`, '', t.methodText, '');
  return out.join('\n');
}

/** The report as JSON (stable key order, trailing newline). */
export function renderAuditJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** 1 when the report holds at least one ERROR finding, else 0. */
export function auditExitCode(report: AuditReport): 0 | 1 {
  return report.findings.some((f) => f.severity === 'ERROR') ? 1 : 0;
}
