import type { AlertStatus, AlertView, AlertWhere, Fact, Lang, Severity } from '@vigie/channels';
import type { Family } from './routing.js';
import { type FactUnit, factLabel, factRank, isKnownFact, isWordFact, ruleTitle, texts, thresholdUnit } from './texts.js';

/** A row of vigie.alert_transitions: a snapshot of the alert at the moment of the change. */
export interface TransitionRow {
  id: number;
  alert_id: string;
  kind: 'opened' | 'reopened' | 'acknowledged' | 'resolved';
  from_status: string | null;
  to_status: AlertStatus;
  check_code: string;
  severity: Severity;
  entity_type: string;
  entity_id: string;
  actor: string | null;
  origin: string;
  at: Date;
  first_detected_at: Date | null;
  source_event_at: Date | null;
  message: string;
  payload: Record<string, unknown>;
}

export const TRANSITION_COLUMNS =
  'id, alert_id, kind, from_status, to_status, check_code, severity, entity_type, entity_id, actor, origin, at, first_detected_at, source_event_at, message, payload';

export interface ViewContext {
  lang: Lang;
  family: Family;
  link: string;
  /** Latest detection in the cycle (the last opened/reopened transition). */
  lastDetectedAt?: Date | undefined;
  acknowledged?: { by: string | null; at: Date } | undefined;
  resolved?: { by: string | null; at: Date } | undefined;
  extraFacts?: Fact[] | undefined;
}

/** Payload keys that are not numbers to show. */
const NOT_FACTS = new Set([
  'message',
  'message_fr',
  'message_en',
  'title',
  'title_fr',
  'title_en',
  'depot',
  'citerne',
  'produit',
  'proprietaire',
  'proprietaire_type',
  'user',
  'email',
  'user_email',
  'ip',
  'vigie',
  'family',
  'facts',
  'ack_note',
  'resolve_note',
]);
const MAX_FACTS = 8;

/**
 * What a message about an alert shows, built from a transition's snapshot
 * (message + payload as the evaluator wrote them). Robust to missing fields:
 * whatever is absent is simply not shown.
 */
export function alertView(t: TransitionRow, ctx: ViewContext): AlertView {
  const p = t.payload ?? {};
  const where = whereOf(p);
  const place = where.citerne ?? where.user ?? where.ip ?? where.depot;
  const title =
    str(p[`title_${ctx.lang}`]) ?? str(p.title) ?? `${ruleTitle(t.check_code, ctx.lang)}${place ? ` ${texts[ctx.lang].on} ${place}` : ''}`;
  const message = str(p[`message_${ctx.lang}`]) ?? str(p.message_fr) ?? str(p.message) ?? t.message;
  const facts = [...factsOf(p, ctx.lang, t.check_code), ...notes(p, ctx.lang), ...(ctx.extraFacts ?? [])];
  const first = t.first_detected_at ?? t.at;
  return {
    alertId: t.alert_id,
    checkCode: t.check_code,
    severity: t.severity,
    family: ctx.family,
    entityType: t.entity_type,
    entityId: t.entity_id,
    title,
    message,
    where,
    facts,
    status: t.to_status,
    firstDetectedAt: first,
    lastDetectedAt: ctx.lastDetectedAt && ctx.lastDetectedAt > first ? ctx.lastDetectedAt : first,
    ...(ctx.acknowledged ? { acknowledgedBy: ctx.acknowledged.by, acknowledgedAt: ctx.acknowledged.at } : {}),
    ...(ctx.resolved ? { resolvedBy: ctx.resolved.by, resolvedAt: ctx.resolved.at } : {}),
    link: ctx.link,
  };
}

export function whereOf(p: Record<string, unknown>): AlertWhere {
  const w: AlertWhere = {};
  const set = (key: keyof AlertWhere, ...candidates: unknown[]) => {
    for (const c of candidates) {
      const v = named(c);
      if (v) {
        w[key] = v;
        return;
      }
    }
  };
  set('depot', p.depot, p.depot_nom);
  set('citerne', p.citerne, p.citerne_nom);
  set('produit', p.produit, p.produit_nom);
  set('proprietaire', p.proprietaire, p.proprietaire_type);
  // Security payloads carry `user` as an auth user id: the email reads better.
  const user = named(p.user);
  set('user', user && !UUID.test(user) ? user : undefined, p.email, p.user_email, user);
  set('ip', p.ip);
  return w;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const byRank = ([a]: [string, unknown], [b]: [string, unknown]) => factRank(a) - factRank(b) || a.localeCompare(b);

/**
 * The payload's facts: an explicit `facts` list ([{label, value}]) or object
 * ({failures: 25, window: '15 min'}) when given; else its known fields (the
 * evaluator's numbers and a few words, docs/rules.md), then other numbers
 * while there is room, the threshold last, in the unit of the rule.
 */
export function factsOf(p: Record<string, unknown>, lang: Lang, checkCode = ''): Fact[] {
  if (p.facts && typeof p.facts === 'object' && !Array.isArray(p.facts)) {
    const out: Fact[] = [];
    for (const [key, value] of Object.entries(p.facts as Record<string, unknown>).sort(byRank)) {
      const { label, unit } = factLabel(key, lang);
      const shown = showValue(value, lang, unit);
      if (shown) out.push({ label, value: shown });
    }
    if (out.length > 0) return out.slice(0, MAX_FACTS);
  }
  if (Array.isArray(p.facts)) {
    const out: Fact[] = [];
    for (const f of p.facts) {
      if (!f || typeof f !== 'object') continue;
      const o = f as Record<string, unknown>;
      const label = str(o[`label_${lang}`]) ?? str(o.label) ?? str(o.label_fr);
      const value = typeof o.value === 'number' ? formatNumber(o.value, lang, unitOf(o.unit)) : str(o.value);
      if (label && value) out.push({ label, value });
    }
    if (out.length > 0) return out.slice(0, MAX_FACTS);
  }
  const known: Fact[] = [];
  const others: Fact[] = [];
  for (const [key, value] of Object.entries(p).sort(byRank)) {
    if (NOT_FACTS.has(key) || key === 'threshold' || key.endsWith('_id') || key.endsWith('_at')) continue;
    const { label, unit } = factLabel(key, lang);
    if (isKnownFact(key)) {
      const shown = typeof value === 'number' || isWordFact(key) ? showValue(value, lang, unit) : undefined;
      if (shown) known.push({ label, value: shown });
    } else if (typeof value === 'number' && Number.isFinite(value)) others.push({ label, value: formatNumber(value, lang) });
  }
  const threshold = thresholdFact(p.threshold, lang, checkCode);
  const room = MAX_FACTS - (threshold ? 1 : 0);
  return [...[...known, ...others].slice(0, room), ...(threshold ? [threshold] : [])];
}

function thresholdFact(value: unknown, lang: Lang, checkCode: string): Fact | null {
  const { label } = factLabel('threshold', lang);
  const unit = thresholdUnit(checkCode);
  if (typeof value === 'number' && Number.isFinite(value)) return { label, value: formatNumber(value, lang, unit) };
  if (typeof value === 'string' && value.trim()) return { label, value: value.trim() };
  if (value && typeof value === 'object' && typeof (value as Record<string, unknown>).value === 'number') {
    const o = value as Record<string, unknown>;
    return { label, value: formatNumber(o.value as number, lang, unitOf(o.unit) ?? unit) };
  }
  return null;
}

function showValue(value: unknown, lang: Lang, unit: FactUnit | undefined): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return formatNumber(value, lang, unit);
  if (typeof value === 'boolean') return value ? texts[lang].yes : texts[lang].no;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string' || typeof v === 'number').join(', ').slice(0, 200) || undefined;
  return str(value)?.slice(0, 200);
}

function unitOf(u: unknown): FactUnit | undefined {
  return u === 'L' || u === 'ratio' || u === 'h' || u === '%' ? u : undefined;
}

function notes(p: Record<string, unknown>, lang: Lang): Fact[] {
  const out: Fact[] = [];
  const ack = str(p.ack_note);
  const res = str(p.resolve_note);
  if (ack) out.push({ label: lang === 'fr' ? 'Note de prise en charge' : 'Acknowledgement note', value: ack });
  if (res) out.push({ label: lang === 'fr' ? 'Note de résolution' : 'Resolution note', value: res });
  return out;
}

export function formatNumber(n: number, lang: Lang, unit?: FactUnit): string {
  const value = unit === 'ratio' ? n * 100 : n;
  const s = new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-US', { maximumFractionDigits: Math.abs(value) < 10 ? 2 : 1 }).format(value);
  if (!unit) return s;
  if (unit === 'ratio' || unit === '%') return lang === 'fr' ? `${s} %` : `${s}%`;
  return `${s} ${unit}`;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A place's name: a string, or an object's nom / name / code. */
function named(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return str(o.nom) ?? str(o.name) ?? str(o.code);
  }
  return undefined;
}
