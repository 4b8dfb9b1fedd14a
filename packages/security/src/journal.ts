import type pg from 'pg';
import { type Lang, type SecurityCheckCode, type Severity, securityRule } from './catalogue.js';
import type { AnyDetected, Collected, Detected, Observation, SecurityFinding } from './types.js';

const SEVERITY_RANK: Record<Severity | 'INFO', number> = { INFO: 0, WARN: 1, CRITICAL: 2 };

function messageOf<C extends SecurityCheckCode>(d: Detected<C>, lang: Lang): string {
  return securityRule(d.code).message(d.facts, lang);
}

/** A detected hit as the system_alerts finding vigie.sync_alerts takes. */
export function toFinding(d: AnyDetected, lang: Lang): SecurityFinding {
  const fr = messageOf(d, 'fr');
  const en = messageOf(d, 'en');
  return {
    check_code: d.code,
    severity: d.severity,
    entity_type: d.entityType,
    entity_id: d.entityId,
    message: lang === 'fr' ? fr : en,
    payload: {
      family: 'security',
      message_fr: fr,
      message_en: en,
      user: d.user,
      email: d.email,
      ip: d.ip,
      facts: { ...d.facts },
      vigie: { event_id: d.eventId, event_at: d.eventAt.toISOString() },
    },
  };
}

const findingKey = (code: string, entityId: string) => `${code}|${entityId.toLowerCase()}`;

/** Several hits of one alert key in one evaluation: the latest wins, their observations add up. */
function dedupeDetected(list: AnyDetected[]): AnyDetected[] {
  const byKey = new Map<string, AnyDetected>();
  for (const d of list) {
    const k = findingKey(d.code, d.entityId);
    const prev = byKey.get(k);
    if (!prev) {
      byKey.set(k, { ...d, sourceKeys: [...d.sourceKeys] } as AnyDetected);
      continue;
    }
    const latest = d.eventAt > prev.eventAt ? d : prev;
    const severity = SEVERITY_RANK[d.severity] > SEVERITY_RANK[prev.severity] ? d.severity : prev.severity;
    byKey.set(k, {
      ...latest,
      severity,
      sourceKeys: [...new Set([...prev.sourceKeys, ...d.sourceKeys])],
      always: prev.always || d.always,
    } as AnyDetected);
  }
  return [...byKey.values()];
}

interface SyncRow {
  alert_id: string;
  check_code: string;
  entity_id: string;
  action: 'opened' | 'reopened' | 'still_open' | 'resolved';
}

interface JournalRow {
  at: string;
  kind: string;
  severity: Severity | 'INFO';
  actor_user_id: string | null;
  actor_email: string | null;
  actor_role: string | null;
  ip: string | null;
  user_agent: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  details: Record<string, unknown>;
  check_codes: string[];
  alert_ids: string[];
  source: string;
  source_key: string;
  event_id: number | null;
}

function journalRow(o: Observation, hits: Array<{ code: string; severity: Severity; alertId: string | null }>): JournalRow {
  let severity: Severity | 'INFO' = 'INFO';
  for (const h of hits) if (SEVERITY_RANK[h.severity] > SEVERITY_RANK[severity]) severity = h.severity;
  return {
    at: o.at.toISOString(),
    kind: o.kind,
    severity,
    actor_user_id: o.actor.userId,
    actor_email: o.actor.email,
    actor_role: o.actor.role,
    ip: o.ip,
    user_agent: o.userAgent,
    target_type: o.target.type,
    target_id: o.target.id,
    target_label: o.target.label,
    details: o.details,
    check_codes: [...new Set(hits.map((h) => h.code))],
    alert_ids: [...new Set(hits.map((h) => h.alertId).filter((x): x is string => x !== null))],
    source: o.source,
    source_key: o.sourceKey,
    event_id: o.eventId,
  };
}

/**
 * Applies one evaluation inside the caller's transaction: skips the source
 * events already journaled (replays, sweep after the event path), syncs
 * public.system_alerts through vigie.sync_alerts, and appends one journal row
 * per fresh suspicious event with the alerts it raised. Advisory locks on the
 * source keys and alert keys serialise concurrent evaluations of the same
 * facts (event path and sweep).
 */
export async function commitEvaluation(client: pg.ClientBase, input: Collected, lang: Lang): Promise<{ findings: SecurityFinding[]; journaled: number }> {
  const observations = new Map<string, Observation>();
  for (const o of input.observations) if (!observations.has(o.sourceKey)) observations.set(o.sourceKey, o);
  const detected = dedupeDetected(input.detected);
  const lockKeys = [...observations.keys(), ...detected.map((d) => `alert:${findingKey(d.code, d.entityId)}`)];
  if (lockKeys.length === 0 && input.coverage.length === 0) return { findings: [], journaled: 0 };
  if (lockKeys.length > 0)
    await client.query('select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest($1::text[]) as k order by 1) s', [
      lockKeys,
    ]);

  const candidateKeys = [...observations.keys(), ...detected.flatMap((d) => d.sourceKeys)];
  const done = new Set<string>();
  if (candidateKeys.length > 0) {
    const { rows } = await client.query<{ source_key: string }>(
      'select source_key from vigie.security_journal where source_key = any($1::text[])',
      [[...new Set(candidateKeys)]],
    );
    for (const r of rows) done.add(r.source_key);
  }
  const fresh = [...observations.values()].filter((o) => !done.has(o.sourceKey));
  const freshKeys = new Set(fresh.map((o) => o.sourceKey));
  const kept = detected.filter((d) => d.always || d.sourceKeys.some((k) => freshKeys.has(k)));

  const findings = kept.map((d) => toFinding(d, lang));
  const alertOf = new Map<string, { alertId: string; action: SyncRow['action'] }>();
  if (findings.length > 0 || input.coverage.length > 0) {
    const { rows } = await client.query<SyncRow>('select alert_id, check_code, entity_id, action from vigie.sync_alerts($1::jsonb, $2::jsonb)', [
      JSON.stringify(findings),
      JSON.stringify(input.coverage),
    ]);
    for (const r of rows) alertOf.set(findingKey(r.check_code, r.entity_id), { alertId: r.alert_id, action: r.action });
  }

  const rows: JournalRow[] = [];
  for (const o of fresh) {
    const hits = kept
      .filter((d) => d.sourceKeys.includes(o.sourceKey))
      .map((d) => ({ code: d.code, severity: d.severity, alertId: alertOf.get(findingKey(d.code, d.entityId))?.alertId ?? null }));
    if (hits.length === 0 && !o.journalAlways) continue;
    rows.push(journalRow(o, hits));
  }
  const journaledKeys = new Set(rows.map((r) => r.source_key));
  for (const d of kept) {
    const sync = alertOf.get(findingKey(d.code, d.entityId));
    if (!d.fallback || !sync || (sync.action !== 'opened' && sync.action !== 'reopened')) continue;
    if (d.sourceKeys.some((k) => journaledKeys.has(k))) continue;
    rows.push(journalRow(d.fallback, [{ code: d.code, severity: d.severity, alertId: sync.alertId }]));
  }
  let journaled = 0;
  if (rows.length > 0) {
    const res = await client.query(
      `insert into vigie.security_journal (at, kind, severity, actor_user_id, actor_email, actor_role, ip, user_agent,
                                           target_type, target_id, target_label, details, check_codes, alert_ids, source, source_key, event_id)
       select x.at, x.kind, x.severity, x.actor_user_id, x.actor_email, x.actor_role, x.ip, x.user_agent,
              x.target_type, x.target_id, x.target_label, coalesce(x.details, '{}'::jsonb), coalesce(x.check_codes, '{}'),
              coalesce(x.alert_ids, '{}'), x.source, x.source_key, x.event_id
         from jsonb_to_recordset($1::jsonb) as x(at timestamptz, kind text, severity text, actor_user_id uuid, actor_email text,
              actor_role text, ip inet, user_agent text, target_type text, target_id text, target_label text, details jsonb,
              check_codes text[], alert_ids uuid[], source text, source_key text, event_id bigint)
       on conflict (source_key) do nothing`,
      [JSON.stringify(rows)],
    );
    journaled = res.rowCount ?? 0;
  }
  return { findings, journaled };
}
