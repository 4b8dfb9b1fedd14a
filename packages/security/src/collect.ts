import type pg from 'pg';
import { type JournalSource, SENSITIVE_AUTH_ACTIONS, SUSPICIOUS_ACCESS_KINDS, type Severity } from './catalogue.js';
import type { SecuritySettings } from './settings.js';
import { type AnyDetected, type Collected, type Observation, emptyCollected } from './types.js';

/**
 * Collectors: each reads one family of sources through the rule functions
 * (vigie.sec_*), scoped to one event or unscoped since a point in time (the
 * sweep), and returns the observations (future journal rows) and the rule
 * hits. commitEvaluation() turns them into alerts and journal rows.
 */

type Q = pg.ClientBase;
type Rec = Record<string, unknown>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const uuidOrNull = (v: unknown): string | null => (isUuid(v) ? v.toLowerCase() : null);
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const toNum = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const asRecord = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});

export function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

interface UserInfo {
  user_id: string;
  email: string | null;
  role: string | null;
  nom_complet: string | null;
  profil_id: string | null;
}
type Users = Map<string, UserInfo>;

async function users(c: Q, ids: Array<string | null | undefined>): Promise<Users> {
  const list = [...new Set(ids.filter((x): x is string => isUuid(x)).map((x) => x.toLowerCase()))];
  const out: Users = new Map();
  if (list.length === 0) return out;
  const { rows } = await c.query<UserInfo>('select user_id, email, role, nom_complet, profil_id from vigie.sec_users($1::uuid[])', [list]);
  for (const r of rows) out.set(r.user_id, r);
  return out;
}

function who(u: Users, id: string | null, fallback?: string | null): string {
  const info = id ? u.get(id) : undefined;
  return info?.email ?? info?.nom_complet ?? id ?? fallback ?? '?';
}

function actorOf(u: Users, id: string | null, overrides: { email?: string | null; role?: string | null } = {}): Observation['actor'] {
  const info = id ? u.get(id) : undefined;
  return { userId: id, email: overrides.email ?? info?.email ?? null, role: overrides.role ?? info?.role ?? null };
}

const sweepKey = (code: string, entityId: string) => `sweep:${code}:${entityId}:${new Date().toISOString()}`;

// ----------------------------------------------------------------- outbox rules
export type OutboxScope = { eventId: number } | { since: Date };

interface RoleRow {
  event_id: number | string;
  at: Date;
  entity_id: string;
  profil_id: string | null;
  user_id: string | null;
  from_role: string | null;
  to_role: string;
  actor: string | null;
  db_user: string | null;
  self_change: boolean;
  critical: boolean;
}
interface ForgedRow {
  event_id: number | string;
  at: Date;
  entity_id: string;
  log_id: string | null;
  claimed_user: string;
  actor: string;
  action: string | null;
  module: string | null;
  niveau: string | null;
}
interface OffHoursRow {
  event_id: number | string;
  at: Date;
  entity_id: string;
  what: 'adjustment' | 'role_change';
  target_id: string;
  actor: string | null;
  db_user: string | null;
  local_time: string;
}
interface OutboxRow {
  id: number | string;
  kind: string;
  entity_id: string;
  payload: unknown;
  created_at: Date;
}

/** Role changes, forged log_actions rows and off-hours privileged actions (sources: outbox events). */
export async function collectOutboxRules(c: Q, s: SecuritySettings, scope: OutboxScope, which: ReadonlyArray<'role' | 'forged' | 'offHours'>): Promise<Collected> {
  const eventId = 'eventId' in scope ? scope.eventId : null;
  const since = 'since' in scope ? scope.since : null;
  const roles = which.includes('role')
    ? (await c.query<RoleRow>('select * from vigie.sec_role_changed($1::text[], $2::bigint, $3::timestamptz)', [s.privilegedRoles, eventId, since])).rows
    : [];
  const forged = which.includes('forged')
    ? (await c.query<ForgedRow>('select * from vigie.sec_log_action_forged($1, $2::bigint, $3::timestamptz)', [s.timeZone, eventId, since])).rows
    : [];
  const off =
    which.includes('offHours') && s.workingHours
      ? (
          await c.query<OffHoursRow>('select * from vigie.sec_privileged_off_hours($1::jsonb, $2, $3::bigint, $4::timestamptz)', [
            JSON.stringify(s.workingHours),
            s.timeZone,
            eventId,
            since,
          ])
        ).rows
      : [];
  const ids = [...new Set([...roles, ...forged, ...off].map((r) => toNum(r.event_id)))];
  if (ids.length === 0) return emptyCollected();
  const events = (
    await c.query<OutboxRow>('select id, kind, entity_id, payload, created_at from vigie.outbox where id = any($1::bigint[]) order by id', [ids])
  ).rows;
  const offByEvent = new Map(off.map((r) => [toNum(r.event_id), r]));
  const u = await users(c, [
    ...events.flatMap((e) => [str(asRecord(e.payload).actor), str(asRecord(e.payload).user_id)]),
    ...off.map((r) => r.actor),
  ]);
  const actorLabel = (actor: string | null, dbUser: string | null) => (actor ? who(u, actor) : dbUser ? `${dbUser} (SQL)` : '?');

  const out = emptyCollected();
  for (const e of events) {
    const id = toNum(e.id);
    const p = asRecord(e.payload);
    const key = `outbox:${id}`;
    const dbUser = str(p.db_user);
    const base = { sourceKey: key, at: toDate(e.created_at), ip: null, userAgent: null, eventId: id, journalAlways: false };
    if (e.kind === 'profil.role_changed') {
      const actor = uuidOrNull(p.actor);
      const target = uuidOrNull(p.user_id);
      out.observations.push({
        ...base,
        source: 'profils',
        kind: 'role_changed',
        actor: actorOf(u, actor),
        target: { type: 'PROFIL', id: e.entity_id, label: who(u, target) },
        details: { user_id: target, from: p.from ?? null, to: p.to ?? null, db_user: dbUser, self: actor !== null && actor === target },
      });
    } else if (e.kind === 'log_action.created') {
      const actor = uuidOrNull(p.actor);
      const claimed = uuidOrNull(p.user_id);
      out.observations.push({
        ...base,
        source: 'log_actions',
        kind: 'log_forged',
        actor: actorOf(u, actor),
        target: { type: 'LOG_ACTION', id: e.entity_id, label: str(p.action) },
        details: { claimed_user_id: claimed, claimed_email: claimed ? (u.get(claimed)?.email ?? null) : null, action: p.action ?? null, module: p.module ?? null, niveau: p.niveau ?? null, db_user: dbUser },
      });
    } else if (e.kind === 'adjustment.created') {
      const actor = offByEvent.get(id)?.actor ?? uuidOrNull(p.actor);
      out.observations.push({
        ...base,
        source: 'stocks_adjustments',
        kind: 'privileged_action',
        actor: actorOf(u, actor),
        target: { type: 'ADJUSTMENT', id: e.entity_id, label: `${str(p.mouvement_type) ?? '?'} ${str(p.mouvement_id) ?? ''}`.trim() },
        details: { citerne_id: p.citerne_id ?? null, mouvement_type: p.mouvement_type ?? null, mouvement_id: p.mouvement_id ?? null },
      });
    }
  }
  for (const r of roles) {
    const id = toNum(r.event_id);
    const target = r.user_id;
    out.detected.push({
      code: 'SEC_ROLE_CHANGED',
      severity: r.critical ? 'CRITICAL' : 'WARN',
      entityType: 'ROLE_CHANGE',
      entityId: r.entity_id,
      facts: { target: who(u, target, r.profil_id), from: r.from_role, to: r.to_role, actor: actorLabel(r.actor, r.db_user), self: r.self_change },
      user: target,
      email: target ? (u.get(target)?.email ?? null) : null,
      ip: null,
      eventId: id,
      eventAt: toDate(r.at),
      sourceKeys: [`outbox:${id}`],
      always: false,
    });
  }
  for (const r of forged) {
    const id = toNum(r.event_id);
    out.detected.push({
      code: 'SEC_LOG_ACTION_FORGED',
      severity: 'CRITICAL',
      entityType: 'LOG_FORGERY',
      entityId: r.entity_id,
      facts: { actor: who(u, r.actor), claimed: who(u, r.claimed_user), action: r.action ?? '?', module: r.module },
      user: r.actor,
      email: u.get(r.actor)?.email ?? null,
      ip: null,
      eventId: id,
      eventAt: toDate(r.at),
      sourceKeys: [`outbox:${id}`],
      always: false,
    });
  }
  for (const r of off) {
    const id = toNum(r.event_id);
    out.detected.push({
      code: 'SEC_PRIVILEGED_OFF_HOURS',
      severity: 'WARN',
      entityType: 'OFF_HOURS',
      entityId: r.entity_id,
      facts: { actor: actorLabel(r.actor, r.db_user), what: r.what, localTime: r.local_time, hours: `${s.workingHoursText} (${s.timeZone})` },
      user: r.actor,
      email: r.actor ? (u.get(r.actor)?.email ?? null) : null,
      ip: null,
      eventId: id,
      eventAt: toDate(r.at),
      sourceKeys: [`outbox:${id}`],
      always: false,
    });
  }
  return out;
}

// ------------------------------------------------------------------------ auth
export type AuthScope = { auditId: string; eventId: number } | { since: Date };

interface AuthEntry {
  id: string;
  created_at: Date;
  ip: string | null;
  action: string | null;
  actor_id: string | null;
  actor_username: string | null;
  payload: unknown;
}
interface NewAddressRow {
  source_key: string;
  at: Date;
  entity_id: string;
  user_id: string;
  email: string | null;
  role: string;
  ip: string;
  known: number;
}

function newAddressHit(r: NewAddressRow, eventId: number | null, userAgent: string | null = null): { observation: Observation; detected: AnyDetected } {
  const fromAuth = r.source_key.startsWith('auth:');
  return {
    observation: {
      sourceKey: r.source_key,
      source: fromAuth ? 'auth_audit' : 'access_events',
      kind: fromAuth ? 'auth_login' : 'login_succeeded',
      at: toDate(r.at),
      actor: { userId: r.user_id, email: r.email, role: r.role },
      ip: r.ip,
      userAgent,
      target: { type: 'USER', id: r.user_id, label: r.email },
      details: { known_addresses: r.known },
      eventId,
      journalAlways: false,
    },
    detected: {
      code: 'SEC_ADMIN_NEW_ADDRESS',
      severity: 'WARN',
      entityType: 'ADMIN_ADDRESS',
      entityId: r.entity_id,
      facts: { user: r.email ?? r.user_id, role: r.role, ip: r.ip, known: r.known },
      user: r.user_id,
      email: r.email,
      ip: r.ip,
      eventId,
      eventAt: toDate(r.at),
      sourceKeys: [r.source_key],
      always: false,
    },
  };
}

const authKind = (action: string) => `auth_${action.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);

/** Supabase Auth's journal: sensitive actions, and admin sign-ins from new addresses. */
export async function collectAuth(c: Q, s: SecuritySettings, scope: AuthScope): Promise<Collected> {
  let sensitive: AuthEntry[];
  let hits: NewAddressRow[];
  const eventId = 'eventId' in scope ? scope.eventId : null;
  if ('auditId' in scope) {
    if (!isUuid(scope.auditId)) return emptyCollected();
    const entry = (await c.query<AuthEntry>('select * from vigie.sec_auth_entries($1::uuid)', [scope.auditId])).rows[0];
    if (!entry) return emptyCollected();
    sensitive = entry.action && (SENSITIVE_AUTH_ACTIONS as readonly string[]).includes(entry.action) ? [entry] : [];
    hits =
      entry.action === 'login'
        ? (await c.query<NewAddressRow>('select * from vigie.sec_admin_new_address($1::text[], $2, null)', [s.newAddressRoles, `auth:${entry.id}`])).rows
        : [];
  } else {
    sensitive = (
      await c.query<AuthEntry>(
        `select * from vigie.sec_auth_entries(null, $1::timestamptz, $2::text[]) a
          where not exists (select 1 from vigie.security_journal j where j.source_key = 'auth:' || a.id)`,
        [scope.since, [...SENSITIVE_AUTH_ACTIONS]],
      )
    ).rows;
    hits = (await c.query<NewAddressRow>('select * from vigie.sec_admin_new_address($1::text[], null, $2::timestamptz)', [s.newAddressRoles, scope.since])).rows;
  }
  const u = await users(c, sensitive.flatMap((e) => [e.actor_id, str(asRecord(asRecord(e.payload).traits).user_id)]));
  const out = emptyCollected();
  for (const e of sensitive) {
    const p = asRecord(e.payload);
    const traits = asRecord(p.traits);
    const targetId = str(traits.user_id) ?? str(traits.id);
    out.observations.push({
      sourceKey: `auth:${e.id}`,
      source: 'auth_audit',
      kind: authKind(e.action ?? 'unknown'),
      at: toDate(e.created_at),
      actor: actorOf(u, e.actor_id, { email: e.actor_username }),
      ip: e.ip,
      userAgent: null,
      target: targetId || str(traits.user_email)
        ? { type: 'USER', id: targetId, label: str(traits.user_email) ?? (targetId ? who(u, uuidOrNull(targetId)) : null) }
        : { type: null, id: null, label: null },
      details: { action: e.action, log_type: p.log_type ?? null, traits: Object.keys(traits).length ? traits : undefined },
      eventId,
      journalAlways: true,
    });
  }
  for (const r of hits) {
    const h = newAddressHit(r, eventId);
    out.observations.push(h.observation);
    out.detected.push(h.detected);
  }
  return out;
}

// --------------------------------------------------------------- access events
export type AccessScope = { batchId: string; eventId: number } | { since: Date };

interface AccessRow {
  id: number | string;
  at: Date;
  kind: string;
  user_id: string | null;
  email: string | null;
  role: string | null;
  ip: string | null;
  user_agent: string | null;
  path: string | null;
  method: string | null;
  status: number | null;
  details: Rec;
  account_id: string | null;
  account_key: string | null;
}
interface AccountBurstRow {
  entity_id: string;
  account_id: string | null;
  email: string | null;
  failures?: number;
  denials?: number;
  addresses: number;
  first_at: Date;
  last_at: Date;
}
interface IpBurstRow {
  entity_id: string;
  ip: string;
  failures?: number;
  denials?: number;
  accounts: number;
  first_at: Date;
  last_at: Date;
}

const DENIED_KINDS = new Set(['http_401', 'http_403', 'app_denied']);
const ACCESS_COLUMNS = 'id, at, kind, user_id, email, role, host(ip) as ip, user_agent, path, method, status, details, account_id, account_key';

/** Posted access events: each suspicious one journaled; bursts per account and per address; admin sign-ins. */
export async function collectAccess(c: Q, s: SecuritySettings, scope: AccessScope): Promise<Collected> {
  const sweep = 'since' in scope;
  const batch = 'batchId' in scope ? scope.batchId : null;
  const eventId = 'eventId' in scope ? scope.eventId : null;
  if (batch !== null && !isUuid(batch)) return emptyCollected();
  const events = batch
    ? (await c.query<AccessRow>(`select ${ACCESS_COLUMNS} from vigie.access_events where batch_id = $1 order by seq`, [batch])).rows
    : (
        await c.query<AccessRow>(
          `select ${ACCESS_COLUMNS} from vigie.access_events e
            where e.kind = any($1::text[]) and e.at >= $2
              and not exists (select 1 from vigie.security_journal j where j.source_key = 'access:' || e.id)
            order by e.id limit 20000`,
          [[...SUSPICIOUS_ACCESS_KINDS], (scope as { since: Date }).since],
        )
      ).rows;
  const burst = <T>(fn: string, r: { threshold: number; windowSeconds: number }) =>
    c.query<T & { entity_id: string }>(`select * from vigie.${fn}($1::int, make_interval(secs => $2::int), $3::uuid)`, [r.threshold, r.windowSeconds, batch]).then((x) => x.rows);
  // One client, one query at a time.
  const accFail = await burst<AccountBurstRow>('sec_login_failed_burst_account', s.loginFailedAccount);
  const ipFail = await burst<IpBurstRow>('sec_login_failed_burst_ip', s.loginFailedIp);
  const accDenied = await burst<AccountBurstRow>('sec_access_denied_burst_user', s.deniedUser);
  const ipDenied = await burst<IpBurstRow>('sec_access_denied_burst_ip', s.deniedIp);
  const u = await users(c, [...events.map((e) => e.account_id), ...accFail.map((r) => r.account_id), ...accDenied.map((r) => r.account_id)]);

  const out = emptyCollected();
  const suspicious = new Set<string>(SUSPICIOUS_ACCESS_KINDS);
  const obsEvents: Array<{ o: Observation; e: AccessRow }> = [];
  for (const e of events) {
    if (!suspicious.has(e.kind)) continue;
    const info = e.account_id ? u.get(e.account_id) : undefined;
    const o: Observation = {
      sourceKey: `access:${toNum(e.id)}`,
      source: 'access_events',
      kind: e.kind,
      at: toDate(e.at),
      actor: { userId: e.account_id, email: e.email ?? info?.email ?? null, role: e.role ?? info?.role ?? null },
      ip: e.ip,
      userAgent: e.user_agent,
      target: e.path ? { type: 'PATH', id: e.method ? `${e.method} ${e.path}` : e.path, label: e.path } : { type: null, id: null, label: null },
      details: { status: e.status, method: e.method, path: e.path, ...(Object.keys(e.details ?? {}).length ? { details: e.details } : {}) },
      eventId,
      journalAlways: true,
    };
    obsEvents.push({ o, e });
    out.observations.push(o);
  }
  const within = (e: AccessRow, r: { first_at: Date; last_at: Date }) => toDate(e.at) >= toDate(r.first_at) && toDate(e.at) <= toDate(r.last_at);
  const attach = (pred: (e: AccessRow) => boolean) => obsEvents.filter(({ e }) => pred(e)).map(({ o }) => o.sourceKey);
  const fallback = (code: string, r: { entity_id: string; last_at: Date }, actor: Observation['actor'], ip: string | null, target: Observation['target'], details: Rec): Observation | undefined =>
    sweep
      ? { sourceKey: sweepKey(code, r.entity_id), source: 'sweep' as JournalSource, kind: 'access_burst', at: toDate(r.last_at), actor, ip, userAgent: null, target, details, eventId: null, journalAlways: false }
      : undefined;
  const accountFacts = (r: AccountBurstRow) => {
    const info = r.account_id ? u.get(r.account_id) : undefined;
    return { email: r.email ?? info?.email ?? null, role: info?.role ?? null, label: r.email ?? info?.email ?? r.account_id ?? r.entity_id };
  };
  const push = (d: AnyDetected) => out.detected.push(d);

  for (const r of accFail) {
    const a = accountFacts(r);
    const failures = toNum(r.failures);
    const severity: Severity = a.role && s.privilegedRoles.includes(a.role) ? 'CRITICAL' : 'WARN';
    const details = { failures, window: formatWindow(s.loginFailedAccount.windowSeconds), addresses: r.addresses, first_at: r.first_at, last_at: r.last_at };
    const fb = fallback('SEC_LOGIN_FAILED_BURST_ACCOUNT', r, { userId: r.account_id, email: a.email, role: a.role }, null, { type: 'ACCOUNT', id: r.entity_id, label: a.label }, details);
    push({
      code: 'SEC_LOGIN_FAILED_BURST_ACCOUNT',
      severity,
      entityType: 'ACCOUNT',
      entityId: r.entity_id,
      facts: { account: a.label, role: a.role, failures, window: details.window, addresses: toNum(r.addresses) },
      user: r.account_id,
      email: a.email,
      ip: null,
      eventId,
      eventAt: toDate(r.last_at),
      sourceKeys: attach((e) => e.kind === 'login_failed' && e.account_key === r.entity_id && within(e, r)),
      always: sweep,
      ...(fb ? { fallback: fb } : {}),
    });
  }
  for (const r of ipFail) {
    const failures = toNum(r.failures);
    const details = { failures, window: formatWindow(s.loginFailedIp.windowSeconds), accounts: r.accounts, first_at: r.first_at, last_at: r.last_at };
    const fb = fallback('SEC_LOGIN_FAILED_BURST_IP', r, { userId: null, email: null, role: null }, r.ip, { type: 'IP', id: r.ip, label: r.ip }, details);
    push({
      code: 'SEC_LOGIN_FAILED_BURST_IP',
      severity: toNum(r.accounts) >= s.sprayAccounts ? 'CRITICAL' : 'WARN',
      entityType: 'IP',
      entityId: r.entity_id,
      facts: { ip: r.ip, failures, window: details.window, accounts: toNum(r.accounts) },
      user: null,
      email: null,
      ip: r.ip,
      eventId,
      eventAt: toDate(r.last_at),
      sourceKeys: attach((e) => e.kind === 'login_failed' && e.ip === r.ip && within(e, r)),
      always: sweep,
      ...(fb ? { fallback: fb } : {}),
    });
  }
  for (const r of accDenied) {
    const a = accountFacts(r);
    const denials = toNum(r.denials);
    const details = { denials, window: formatWindow(s.deniedUser.windowSeconds), addresses: r.addresses, first_at: r.first_at, last_at: r.last_at };
    const fb = fallback('SEC_ACCESS_DENIED_BURST_USER', r, { userId: r.account_id, email: a.email, role: a.role }, null, { type: 'ACCOUNT', id: r.entity_id, label: a.label }, details);
    push({
      code: 'SEC_ACCESS_DENIED_BURST_USER',
      severity: 'WARN',
      entityType: 'ACCOUNT',
      entityId: r.entity_id,
      facts: { account: a.label, role: a.role, denials, window: details.window, addresses: toNum(r.addresses) },
      user: r.account_id,
      email: a.email,
      ip: null,
      eventId,
      eventAt: toDate(r.last_at),
      sourceKeys: attach((e) => DENIED_KINDS.has(e.kind) && e.account_key === r.entity_id && within(e, r)),
      always: sweep,
      ...(fb ? { fallback: fb } : {}),
    });
  }
  for (const r of ipDenied) {
    const denials = toNum(r.denials);
    const details = { denials, window: formatWindow(s.deniedIp.windowSeconds), accounts: r.accounts, first_at: r.first_at, last_at: r.last_at };
    const fb = fallback('SEC_ACCESS_DENIED_BURST_IP', r, { userId: null, email: null, role: null }, r.ip, { type: 'IP', id: r.ip, label: r.ip }, details);
    push({
      code: 'SEC_ACCESS_DENIED_BURST_IP',
      severity: 'WARN',
      entityType: 'IP',
      entityId: r.entity_id,
      facts: { ip: r.ip, denials, window: details.window, accounts: toNum(r.accounts) },
      user: null,
      email: null,
      ip: r.ip,
      eventId,
      eventAt: toDate(r.last_at),
      sourceKeys: attach((e) => DENIED_KINDS.has(e.kind) && e.ip === r.ip && within(e, r)),
      always: sweep,
      ...(fb ? { fallback: fb } : {}),
    });
  }
  if (sweep) {
    // The sweep sees the current windows: bursts no longer there are resolved.
    for (const code of ['SEC_LOGIN_FAILED_BURST_ACCOUNT', 'SEC_LOGIN_FAILED_BURST_IP', 'SEC_ACCESS_DENIED_BURST_USER', 'SEC_ACCESS_DENIED_BURST_IP'] as const)
      out.coverage.push({ check_code: code, entity_ids: null });
  } else {
    // Admin sign-ins reported by the application (login_succeeded), in order.
    for (const e of events) {
      if (e.kind !== 'login_succeeded' || !e.account_id || !e.ip) continue;
      const rows = (
        await c.query<NewAddressRow>('select * from vigie.sec_admin_new_address($1::text[], $2, null)', [s.newAddressRoles, `access:${toNum(e.id)}`])
      ).rows;
      for (const r of rows) {
        const h = newAddressHit(r, eventId, e.user_agent);
        out.observations.push(h.observation);
        out.detected.push(h.detected);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ RLS / DDL
interface PublicPolicyRow {
  entity_id: string;
  schema_name: string;
  table_name: string;
  policy_name: string;
  roles: string[];
  command: string;
  is_public: boolean;
}
interface RlsDisabledRow {
  entity_id: string;
  schema_name: string;
  table_name: string;
  policies: number;
}
export interface DdlEvent {
  id: number;
  at: Date;
  payload: Rec;
}

/** Policies open to {public}/anon and tables without RLS: always evaluated in full (coverage = every entity). */
export async function collectRls(c: Q, s: SecuritySettings, ddl?: DdlEvent): Promise<Collected> {
  const pub = (await c.query<PublicPolicyRow>('select * from vigie.sec_rls_public_policy($1::text[], null)', [s.rlsSchemas])).rows;
  const dis = (await c.query<RlsDisabledRow>('select * from vigie.sec_rls_disabled($1::text[], $2::text[], null)', [s.rlsSchemas, s.rlsIgnoreTables])).rows;
  const out = emptyCollected();
  const p = ddl?.payload ?? {};
  const ddlSchema = str(p.schema);
  const ddlTable = ddlSchema && str(p.table) ? `${ddlSchema}.${str(p.table)}` : null;
  const ddlKey = ddl ? `outbox:${ddl.id}` : null;
  const now = new Date();
  if (ddl && ddlKey) {
    const actor = uuidOrNull(p.actor);
    const u = await users(c, [actor]);
    const isPolicy = p.object_type === 'policy';
    out.observations.push({
      sourceKey: ddlKey,
      source: 'ddl',
      kind: 'ddl_policy',
      at: ddl.at,
      actor: actorOf(u, actor),
      ip: null,
      userAgent: null,
      target: isPolicy
        ? { type: 'POLICY', id: str(p.policy) && ddlTable ? `${str(p.policy)} on ${ddlTable}` : str(p.identity), label: str(p.policy) }
        : { type: 'TABLE', id: ddlTable, label: ddlTable },
      details: {
        tag: p.tag ?? null,
        object_type: p.object_type ?? null,
        identity: p.identity ?? null,
        roles: p.roles ?? null,
        rls_enabled: p.rls_enabled ?? null,
        db_user: p.db_user ?? null,
        current_role: p.current_role ?? null,
      },
      eventId: ddl.id,
      journalAlways: isPolicy && ddlSchema !== null && s.rlsSchemas.includes(ddlSchema),
    });
  }
  const fb = (code: string, entityId: string, target: Observation['target'], details: Rec): Observation => ({
    sourceKey: sweepKey(code, entityId),
    source: 'sweep',
    kind: 'rls_exposure',
    at: now,
    actor: { userId: null, email: null, role: null },
    ip: null,
    userAgent: null,
    target,
    details,
    eventId: ddl?.id ?? null,
    journalAlways: false,
  });
  for (const r of pub) {
    const table = `${r.schema_name}.${r.table_name}`;
    out.detected.push({
      code: 'SEC_RLS_PUBLIC_POLICY',
      severity: r.is_public ? 'CRITICAL' : 'WARN',
      entityType: 'POLICY',
      entityId: r.entity_id,
      facts: { table, policy: r.policy_name, roles: r.roles, command: r.command },
      user: null,
      email: null,
      ip: null,
      eventId: ddl?.id ?? null,
      eventAt: ddl?.at ?? now,
      sourceKeys: ddlKey && table === ddlTable ? [ddlKey] : [],
      always: true,
      fallback: fb('SEC_RLS_PUBLIC_POLICY', r.entity_id, { type: 'POLICY', id: `${r.policy_name} on ${table}`, label: r.policy_name }, { roles: r.roles, command: r.command }),
    });
  }
  for (const r of dis) {
    const table = `${r.schema_name}.${r.table_name}`;
    out.detected.push({
      code: 'SEC_RLS_DISABLED',
      severity: 'CRITICAL',
      entityType: 'TABLE',
      entityId: r.entity_id,
      facts: { table, policies: toNum(r.policies) },
      user: null,
      email: null,
      ip: null,
      eventId: ddl?.id ?? null,
      eventAt: ddl?.at ?? now,
      sourceKeys: ddlKey && table === ddlTable ? [ddlKey] : [],
      always: true,
      fallback: fb('SEC_RLS_DISABLED', r.entity_id, { type: 'TABLE', id: table, label: table }, { policies: toNum(r.policies) }),
    });
  }
  out.coverage.push({ check_code: 'SEC_RLS_PUBLIC_POLICY', entity_ids: null }, { check_code: 'SEC_RLS_DISABLED', entity_ids: null });
  return out;
}

// --------------------------------------------------- human actions on alerts
export type TransitionScope = { transitionId: number; eventId: number } | { since: Date };

interface TransitionRow {
  id: number | string;
  alert_id: string;
  kind: string;
  from_status: string | null;
  to_status: string;
  check_code: string;
  severity: string;
  entity_type: string;
  entity_id: string;
  actor: string | null;
  origin: string;
  at: Date;
  message: string;
  payload: unknown;
}

/** ACK / RESOLVE / reopen of any system_alerts row by a person (ML_PP's screen, the CLI, direct SQL). */
export async function collectTransitions(c: Q, _s: SecuritySettings, scope: TransitionScope): Promise<Collected> {
  const cols = 'id, alert_id, kind, from_status, to_status, check_code, severity, entity_type, entity_id, actor, origin, at, message, payload';
  const rows =
    'transitionId' in scope
      ? (await c.query<TransitionRow>(`select ${cols} from vigie.alert_transitions where id = $1 and origin <> 'evaluator'`, [scope.transitionId])).rows
      : (
          await c.query<TransitionRow>(
            `select ${cols} from vigie.alert_transitions t
              where t.origin <> 'evaluator' and t.at >= $1
                and not exists (select 1 from vigie.security_journal j where j.source_key = 'transition:' || t.id)
              order by t.id limit 5000`,
            [scope.since],
          )
        ).rows;
  const eventId = 'eventId' in scope ? scope.eventId : null;
  const u = await users(c, rows.map((r) => r.actor));
  const out = emptyCollected();
  for (const r of rows) {
    const p = asRecord(r.payload);
    const note = r.kind === 'acknowledged' ? p.ack_note : r.kind === 'resolved' ? p.resolve_note : undefined;
    out.observations.push({
      sourceKey: `transition:${toNum(r.id)}`,
      source: 'system_alerts',
      kind: `alert_${r.kind}`,
      at: toDate(r.at),
      actor: actorOf(u, r.actor),
      ip: null,
      userAgent: null,
      target: { type: 'ALERT', id: r.alert_id, label: `${r.check_code} : ${r.message}`.slice(0, 300) },
      details: {
        check_code: r.check_code,
        severity: r.severity,
        origin: r.origin,
        from_status: r.from_status,
        to_status: r.to_status,
        entity_type: r.entity_type,
        entity_id: r.entity_id,
        ...(typeof note === 'string' ? { note } : {}),
        // A person acting on an alert about themselves (e.g. resolving their own role escalation).
        self_review: r.actor !== null && (p.user === r.actor || p.user === r.actor?.toLowerCase()),
      },
      eventId,
      journalAlways: true,
    });
  }
  return out;
}
